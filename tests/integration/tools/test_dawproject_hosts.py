"""Issue 16, item 3: DAWproject files as real DAWs write them open, with what could not be kept named.

Where each structure comes from (none of these files was written by Earshot):
  * BITWIG_README: the project.xml printed in the DAWproject format's own README (bitwig/dawproject,
    commit ee4dcdd, MIT), "a simple file saved in Bitwig Studio 5.0", verbatim: a notes track whose
    instrument is a CLAP plugin, an audio clip holding a nested Clips timeline whose Audio sits inside
    Warps, and an empty Clips lane on the master. As in the README, the archive holds no audio file.
  * STUDIO_ONE: built from the 1.0 schema with what a Studio One export carries: plain Clips (no
    nested timelines, no ClipSlots) whose Audio is in seconds on a beats arrangement, fades in seconds,
    Vst3Plugin devices (an instrument and an effect) beside a generic Compressor, an effect bus, a
    send, a volume automation lane (Points targeting the channel's Volume by id), arrangement Markers.
  * CUBASE: built from the schema with a Cubase-style layout: the master as a lone Channel in
    Structure, a folder track (contentType "tracks") with a submix bus holding its tracks, volume in
    decibels and pan on a -100..100 linear scale, an arrangement in seconds, a looped clip, an alias
    clip (`reference`), a disabled clip, an external file, note expressions, tempo and time-signature
    automation, a clip-launcher scene.
  * DAWPROJECT_TEST: the "complex" project of the format's own test suite (DawProjectTest
    createDummyProject with every feature): cue markers, a Vst3Plugin on the master, note clips,
    alias clips referencing another clip's Notes by id, and a volume automation lane.
We had no file saved by Studio One or Cubase themselves; the structures above are the schema's, as
their exports are described, and each is read here element by element.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from assistant.errors import EarshotError
from assistant.project import Project, dawproject
from assistant.project.model import effects_in_order, tracks_in_order
from tests.corpus.make_corpus import deflate_bomb_zip, lying_size_zip, nested_lanes_xml, project_xml, zip_bytes

pytestmark = pytest.mark.integration

BITWIG_README = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Project version="1.0">
  <Application name="Bitwig Studio" version="5.0"/>
  <Transport>
    <Tempo max="666.000000" min="20.000000" unit="bpm" value="149.000000" id="id0" name="Tempo"/>
    <TimeSignature denominator="4" numerator="4" id="id1"/>
  </Transport>
  <Structure>
    <Track contentType="notes" loaded="true" id="id2" name="Bass" color="#a2eabf">
      <Channel audioChannels="2" destination="id15" role="regular" solo="false" id="id3">
        <Devices>
          <ClapPlugin deviceID="org.surge-synth-team.surge-xt" deviceName="Surge XT" deviceRole="instrument" loaded="true" id="id7" name="Surge XT">
            <Parameters/>
            <Enabled value="true" id="id8" name="On/Off"/>
            <State path="plugins/d19b1f6e-bbb6-42fe-a6c9-54b41d97a05d.clap-preset"/>
          </ClapPlugin>
        </Devices>
        <Mute value="false" id="id6" name="Mute"/>
        <Pan max="1.000000" min="0.000000" unit="normalized" value="0.500000" id="id5" name="Pan"/>
        <Volume max="2.000000" min="0.000000" unit="linear" value="0.659140" id="id4" name="Volume"/>
      </Channel>
    </Track>
    <Track contentType="audio" loaded="true" id="id9" name="Drumloop" color="#b53bba">
      <Channel audioChannels="2" destination="id15" role="regular" solo="false" id="id10">
        <Mute value="false" id="id13" name="Mute"/>
        <Pan max="1.000000" min="0.000000" unit="normalized" value="0.500000" id="id12" name="Pan"/>
        <Volume max="2.000000" min="0.000000" unit="linear" value="0.177125" id="id11" name="Volume"/>
      </Channel>
    </Track>
    <Track contentType="audio notes" loaded="true" id="id14" name="Master">
      <Channel audioChannels="2" role="master" solo="false" id="id15">
        <Mute value="false" id="id18" name="Mute"/>
        <Pan max="1.000000" min="0.000000" unit="normalized" value="0.500000" id="id17" name="Pan"/>
        <Volume max="2.000000" min="0.000000" unit="linear" value="1.000000" id="id16" name="Volume"/>
      </Channel>
    </Track>
  </Structure>
  <Arrangement id="id19">
    <Lanes timeUnit="beats" id="id20">
      <Lanes track="id2" id="id21">
        <Clips id="id22">
          <Clip time="0.0" duration="8.0" playStart="0.0">
            <Notes id="id23">
              <Note time="0.000000" duration="0.250000" channel="0" key="65" vel="0.787402" rel="0.787402"/>
              <Note time="1.000000" duration="0.250000" channel="0" key="65" vel="0.787402" rel="0.787402"/>
              <Note time="4.000000" duration="0.250000" channel="0" key="65" vel="0.787402" rel="0.787402"/>
              <Note time="5.000000" duration="0.250000" channel="0" key="65" vel="0.787402" rel="0.787402"/>
              <Note time="0.500000" duration="0.250000" channel="0" key="64" vel="0.787402" rel="0.787402"/>
              <Note time="4.500000" duration="0.250000" channel="0" key="64" vel="0.787402" rel="0.787402"/>
              <Note time="1.500000" duration="2.500000" channel="0" key="53" vel="0.787402" rel="0.787402"/>
              <Note time="5.500000" duration="0.250000" channel="0" key="53" vel="0.787402" rel="0.787402"/>
              <Note time="6.000000" duration="2.000000" channel="0" key="53" vel="0.787402" rel="0.787402"/>
            </Notes>
          </Clip>
        </Clips>
      </Lanes>
      <Lanes track="id9" id="id24">
        <Clips id="id25">
          <Clip time="0.0" duration="8.00003433227539" playStart="0.0" loopStart="0.0" loopEnd="8.00003433227539" fadeTimeUnit="beats" fadeInTime="0.0" fadeOutTime="0.0" name="Drumfunk3 170bpm">
            <Clips id="id26">
              <Clip time="0.0" duration="8.00003433227539" contentTimeUnit="beats" playStart="0.0" fadeTimeUnit="beats" fadeInTime="0.0" fadeOutTime="0.0">
                <Warps contentTimeUnit="seconds" timeUnit="beats" id="id28">
                  <Audio algorithm="stretch" channels="2" duration="2.823541666666667" sampleRate="48000" id="id27">
                    <File path="audio/Drumfunk3 170bpm.wav"/>
                  </Audio>
                  <Warp time="0.0" contentTime="0.0"/>
                  <Warp time="8.00003433227539" contentTime="2.823541666666667"/>
                </Warps>
              </Clip>
            </Clips>
          </Clip>
        </Clips>
      </Lanes>
      <Lanes track="id14" id="id29">
        <Clips id="id30"/>
      </Lanes>
    </Lanes>
  </Arrangement>
  <Scenes/>
</Project>
"""

STUDIO_ONE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Project version="1.0">
  <Application name="Studio One" version="6.5"/>
  <Transport>
    <Tempo unit="bpm" value="96.0" min="30.0" max="300.0" id="tempo" name="Tempo"/>
    <TimeSignature numerator="3" denominator="4" id="sig"/>
  </Transport>
  <Structure>
    <Track contentType="audio" loaded="true" id="t-vox" name="Vocals">
      <Channel audioChannels="1" destination="ch-main" role="regular" solo="false" id="ch-vox">
        <Devices>
          <Vst3Plugin deviceID="5B38F28281144FFE80285FF7CCF20483" deviceName="Pro EQ3" deviceRole="audioFX" loaded="true" id="d1">
            <Parameters/><Enabled value="true" id="d1e"/><State path="Presets/Pro EQ3.vstpreset"/>
          </Vst3Plugin>
          <Compressor deviceName="Compressor" deviceRole="audioFX" id="d2">
            <Enabled value="true" id="d2e"/>
            <Attack unit="seconds" value="0.01" id="d2a"/><Ratio unit="linear" value="4.0" id="d2r"/>
            <Release unit="seconds" value="0.2" id="d2l"/><Threshold unit="decibel" value="-18.0" id="d2t"/>
          </Compressor>
        </Devices>
        <Mute value="false" id="ch-vox-m" name="Mute"/>
        <Pan unit="normalized" value="0.4" min="0.0" max="1.0" id="ch-vox-p" name="Pan"/>
        <Volume unit="linear" value="0.5" min="0.0" max="2.0" id="ch-vox-v" name="Volume"/>
        <Sends><Send destination="ch-fx" type="post" id="s1"><Volume unit="linear" value="0.3" id="s1v"/></Send></Sends>
      </Channel>
    </Track>
    <Track contentType="notes" loaded="true" id="t-keys" name="Keys">
      <Channel audioChannels="2" destination="ch-main" role="regular" id="ch-keys">
        <Devices>
          <Vst3Plugin deviceID="A3B4C5" deviceName="Presence XT" deviceRole="instrument" id="d3"><State path="Presets/Presence.vstpreset"/></Vst3Plugin>
        </Devices>
        <Volume unit="linear" value="1.0" id="ch-keys-v"/>
      </Channel>
    </Track>
    <Track contentType="audio" loaded="true" id="t-fx" name="FX 1">
      <Channel audioChannels="2" destination="ch-main" role="effect" id="ch-fx"/>
    </Track>
    <Track contentType="audio notes" loaded="true" id="t-main" name="Main">
      <Channel audioChannels="2" role="master" id="ch-main"><Volume unit="linear" value="0.5" id="ch-main-v"/></Channel>
    </Track>
  </Structure>
  <Arrangement id="arr">
    <Lanes timeUnit="beats" id="root">
      <Lanes track="t-vox" id="lane-vox">
        <Clips id="clips-vox">
          <Clip time="4.0" duration="6.0" contentTimeUnit="seconds" playStart="0.5" fadeTimeUnit="seconds" fadeInTime="0.05" fadeOutTime="0.2" name="Vocal take 3">
            <Audio channels="1" sampleRate="44100" duration="5.0" id="a-vox"><File path="Audio/Vocal take 3.wav"/></Audio>
          </Clip>
        </Clips>
        <Points id="auto-vox" unit="linear">
          <Target parameter="ch-vox-v"/>
          <RealPoint time="0.0" value="0.5" interpolation="linear"/><RealPoint time="8.0" value="0.25" interpolation="linear"/>
        </Points>
      </Lanes>
      <Lanes track="t-keys" id="lane-keys">
        <Clips id="clips-keys">
          <Clip time="0.0" duration="6.0" name="Chords">
            <Notes id="n-keys">
              <Note time="0.0" duration="3.0" channel="0" key="60" vel="0.8" rel="0.5"/>
              <Note time="0.0" duration="3.0" channel="0" key="64" vel="0.8" rel="0.5"/>
              <Note time="3.0" duration="3.0" channel="0" key="67" vel="0.6" rel="0.5"/>
            </Notes>
          </Clip>
        </Clips>
      </Lanes>
    </Lanes>
    <Markers id="markers"><Marker time="0.0" name="Intro"/><Marker time="12.0" name="Verse"/></Markers>
  </Arrangement>
  <Scenes/>
</Project>
"""

CUBASE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Project version="1.0">
  <Application name="Cubase" version="14.0"/>
  <Transport><Tempo unit="bpm" value="128.0" id="tempo" name="Tempo"/><TimeSignature numerator="4" denominator="4" id="sig"/></Transport>
  <Structure>
    <Channel audioChannels="2" role="master" id="stereo-out" name="Stereo Out"><Volume unit="decibel" value="-1.5" id="so-v"/></Channel>
    <Track contentType="tracks" loaded="true" id="folder" name="Drums">
      <Channel audioChannels="2" role="submix" destination="stereo-out" id="drum-bus"><Volume unit="linear" value="0.7" id="db-v"/></Channel>
      <Track contentType="audio" loaded="true" id="t-kick" name="Kick">
        <Channel audioChannels="1" role="regular" destination="drum-bus" id="c-kick">
          <Mute value="true" id="c-kick-m"/><Volume unit="decibel" value="-6.0" id="c-kick-v"/>
        </Channel>
      </Track>
    </Track>
    <Track contentType="notes" loaded="true" id="t-synth" name="Synth">
      <Channel audioChannels="2" role="regular" destination="stereo-out" id="c-synth">
        <Devices><Vst3Plugin deviceName="Retrologue" deviceRole="instrument" id="retro"><State path="plugins/retro.vstpreset"/></Vst3Plugin></Devices>
        <Pan unit="linear" value="-50.0" min="-100.0" max="100.0" id="c-synth-p"/>
      </Channel>
    </Track>
  </Structure>
  <Arrangement id="arr">
    <Lanes timeUnit="seconds" id="root">
      <Lanes track="t-kick" id="lane-kick">
        <Clips id="clips-kick">
          <Clip time="1.0" duration="2.0" contentTimeUnit="seconds" playStart="0.0" loopStart="0.0" loopEnd="0.5" name="Kick loop">
            <Audio channels="1" sampleRate="44100" duration="0.5" id="kick-audio"><File path="Audio/kick.wav"/></Audio>
          </Clip>
          <Clip time="4.0" duration="0.5" contentTimeUnit="seconds" reference="kick-audio" name="Kick alias"/>
          <Clip time="6.0" duration="0.5" contentTimeUnit="seconds" enable="false" name="Muted hit">
            <Audio channels="1" sampleRate="44100" duration="0.5" id="muted-audio"><File path="Audio/kick.wav"/></Audio>
          </Clip>
          <Clip time="8.0" duration="2.0" contentTimeUnit="seconds" name="Crash">
            <Audio channels="2" sampleRate="48000" duration="2.0" id="crash-audio"><File path="/Users/me/Samples/crash.wav" external="true"/></Audio>
          </Clip>
        </Clips>
      </Lanes>
      <Lanes track="t-synth" id="lane-synth">
        <Clips id="clips-synth">
          <Clip time="0.0" duration="4.0" contentTimeUnit="beats" name="Arp">
            <Notes id="arp">
              <Note time="0.0" duration="0.5" channel="0" key="64" vel="0.9">
                <Points id="bend"><Target expression="pitchBend" channel="0"/><RealPoint time="0.0" value="0.5"/><RealPoint time="0.25" value="0.7"/></Points>
              </Note>
              <Note time="1.0" duration="0.5" channel="0" key="67" vel="0.9"/>
            </Notes>
          </Clip>
        </Clips>
      </Lanes>
    </Lanes>
    <Markers id="markers" timeUnit="seconds"><Marker time="0.0" name="Start"/></Markers>
    <TempoAutomation id="tempo-auto" unit="bpm" timeUnit="seconds">
      <Target parameter="tempo"/><RealPoint time="0.0" value="128.0" interpolation="hold"/><RealPoint time="30.0" value="140.0" interpolation="hold"/>
    </TempoAutomation>
    <TimeSignatureAutomation id="sig-auto">
      <Target parameter="sig"/><TimeSignaturePoint time="0.0" numerator="4" denominator="4"/><TimeSignaturePoint time="32.0" numerator="7" denominator="8"/>
    </TimeSignatureAutomation>
  </Arrangement>
  <Scenes><Scene id="scene1"><Lanes id="scene-lanes"><ClipSlot track="t-synth" id="slot1" hasStop="true"/></Lanes></Scene></Scenes>
</Project>
"""


def _dawproject_test_complex() -> bytes:
    tracks, lanes = [], []
    for i in range(3):
        tracks.append(
            f'<Track contentType="notes" id="tr{i}" name="Track {i + 1}" color="#{str(i) * 6}">'
            f'<Channel role="regular" destination="mch" id="ch{i}"><Pan unit="normalized" value="0.5" id="p{i}"/>'
            f'<Volume unit="linear" value="1.0" id="v{i}"/></Channel></Track>'
        )
        notes = "".join(
            f'<Note time="{0.5 * j}" duration="0.5" channel="0" key="{36 + 12 * (j % (1 + i))}" vel="0.8" rel="0.5"/>'
            for j in range(8)
        )
        automation = (
            f'<Points id="auto{i}"><Target parameter="v{i}"/><RealPoint time="0.0" value="0.0" interpolation="linear"/>'
            f'<RealPoint time="8.0" value="1.0" interpolation="linear"/></Points>'
            if i == 0
            else ""
        )
        lanes.append(
            f'<Lanes track="tr{i}" id="l{i}"><Clips id="cl{i}">'
            f'<Clip time="{8 * i}" duration="4.0" name="Clip {i}"><Notes id="notes{i}">{notes}</Notes></Clip>'
            f'<Clip time="{32 + 8 * i}" duration="4.0" name="Alias Clip {i}" reference="notes{i}"/>'
            f"</Clips>{automation}</Lanes>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><Project version="1.0"><Application name="Test" version="1.0"/>'
        '<Structure><Track contentType="" id="mtr" name="Master"><Channel role="master" id="mch">'
        '<Devices><Vst3Plugin deviceName="Limiter" deviceRole="audioFX" id="lim"><State path="plugin-states/12323545.vstpreset"/>'
        '</Vst3Plugin></Devices><Pan unit="normalized" value="0.5" id="mp"/><Volume unit="linear" value="1.0" id="mv"/>'
        f"</Channel></Track>{''.join(tracks)}</Structure>"
        f'<Arrangement id="arr"><Lanes timeUnit="beats" id="root">{"".join(lanes)}</Lanes>'
        '<Markers id="mk"><Marker time="0.0" name="Verse"/><Marker time="24.0" name="Chorus"/></Markers></Arrangement>'
        "</Project>"
    ).encode()


def _wav(seconds: float, rate: int, channels: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    sf.write(buf, (0.3 * rng.standard_normal((int(seconds * rate), channels))).astype(np.float32), rate, format="WAV")
    return buf.getvalue()


def _put(session, name: str, members: dict[str, bytes]) -> str:
    (session.workspace / name).write_bytes(zip_bytes(members))
    return name


def _by_name(state: dict) -> dict:
    return {t["name"]: t for t in tracks_in_order(state)}


def _clips(state: dict, track: dict) -> list[dict]:
    return sorted((c for c in state["clips"].values() if c["track"] == track["id"]), key=lambda c: c["start"])


def test_the_bitwig_example_of_the_format_readme_opens(session, run_tool):
    """The issue's own example: it crashed with AttributeError in the clip reader."""
    out = run_tool("open_project", file=_put(session, "bitwig.dawproject", {"project.xml": BITWIG_README}))
    state = Project(session).state()
    tracks = _by_name(state)
    assert state["tempo_bpm"] == 149.0 and state["time_signature"] == [4, 4]
    assert list(tracks) == ["Bass", "Drumloop"]
    assert tracks["Bass"]["kind"] == "midi" and tracks["Drumloop"]["kind"] == "audio"
    assert tracks["Bass"]["gain_db"] == pytest.approx(20 * np.log10(0.65914), abs=1e-3)
    (bass,) = _clips(state, tracks["Bass"])
    assert (bass["start"], bass["length"], len(bass["notes"])) == (0.0, 8.0, 9)
    assert [n[0] for n in bass["notes"][:3]] == [65, 64, 65]  # in time order
    (drums,) = _clips(state, tracks["Drumloop"])  # the nested Clips flattened onto the arrangement
    assert drums["name"] == "Drumfunk3 170bpm"
    assert (drums["start"], drums["length"]) == (0.0, pytest.approx(8.000034, abs=1e-6))
    assert drums["warp"] == [pytest.approx(8.000034, abs=1e-6), pytest.approx(2.823542, abs=1e-6)]
    assert drums["source"]["offline"] and drums["source"]["name"] == "Drumfunk3 170bpm.wav"
    # the reply says what was not kept: the missing audio file and the CLAP instrument
    assert "Drumfunk3 170bpm.wav" in out.summary and "not inside the project file" in out.summary
    assert "Surge XT" in out.summary and "ClapPlugin" in out.summary
    # an offline clip renders as silence, and says so; the project exports and validates again
    mix = run_tool("render_project", op="mixdown")
    assert "offline clip" in mix.summary
    exported = run_tool("render_project", op="dawproject").artifacts[0]
    again, notes = dawproject.import_dawproject(exported.path.read_bytes(), lambda p, b: {})
    assert len(again["clips"]) == 2 and any("missing" in n for n in notes)


def test_the_bitwig_example_with_its_audio_plays_the_loop(session, run_tool):
    loop = _wav(2.823541666666667, 48_000, 2, seed=1)
    name = _put(session, "bitwig-full.dawproject", {"project.xml": BITWIG_README, "audio/Drumfunk3 170bpm.wav": loop})
    out = run_tool("open_project", file=name)
    assert "missing" not in out.summary
    state = Project(session).state()
    (drums,) = _clips(state, _by_name(state)["Drumloop"])
    art = session.artifact(drums["source"]["artifact"])
    assert art.path.read_bytes() == loop and art.tool == "open_project"
    mix = run_tool("render_project", op="mixdown").artifacts[0]
    audio, rate = sf.read(str(mix.path))
    drum_part = audio[: int(3.0 * rate)]
    assert np.sqrt(np.mean(drum_part**2)) > 0.01  # the loop plays (the warped clip lasts 8 beats = 3.2 s)


def test_a_studio_one_style_project(session, run_tool):
    vocal = _wav(5.0, 44_100, 1, seed=2)
    out = run_tool(
        "open_project",
        file=_put(session, "s1.dawproject", {"project.xml": STUDIO_ONE, "Audio/Vocal take 3.wav": vocal}),
    )
    state = Project(session).state()
    tracks = _by_name(state)
    assert state["tempo_bpm"] == 96.0 and state["time_signature"] == [3, 4]
    assert list(tracks) == ["Vocals", "Keys"]  # the effect bus is not a track here
    vox = tracks["Vocals"]
    assert vox["pan"] == pytest.approx(-0.2) and vox["gain_db"] == pytest.approx(-6.021, abs=1e-3)
    (comp,) = effects_in_order(vox["effects"])
    assert comp["type"] == "compressor" and comp["params"]["ratio"] == 4.0 and comp["params"]["attack_ms"] == 10.0
    assert state["master"]["gain_db"] == pytest.approx(-6.021, abs=1e-3)
    (take,) = _clips(state, vox)
    assert (take["start"], take["length"], take["unit"], take["content_unit"]) == (4.0, 6.0, "beats", "seconds")
    assert (take["offset"], take["fade_in_s"], take["fade_out_s"]) == (0.5, 0.05, 0.2)
    (chords,) = _clips(state, tracks["Keys"])
    assert [n[:3] for n in chords["notes"]] == [[60, 0.0, 3.0], [64, 0.0, 3.0], [67, 3.0, 3.0]]
    for said in ("Pro EQ3", "Presence XT", "send", "FX 1", "Volume of 'Vocals'", "'Intro' at beat 0", "'Verse'"):
        assert said in out.summary, said


def test_a_cubase_style_project(session, run_tool):
    kick = _wav(0.5, 44_100, 1, seed=3)
    out = run_tool("open_project", file=_put(session, "cb.dawproject", {"project.xml": CUBASE, "Audio/kick.wav": kick}))
    state = Project(session).state()
    tracks = _by_name(state)
    assert list(tracks) == ["Kick", "Synth"]  # the folder's tracks, not the folder
    assert state["master"]["gain_db"] == -1.5 and state["tempo_bpm"] == 128.0
    assert tracks["Kick"]["mute"] and tracks["Kick"]["gain_db"] == -6.0
    assert tracks["Synth"]["pan"] == -0.5
    kicks = _clips(state, tracks["Kick"])
    assert [c["name"] for c in kicks] == ["Kick loop", "Kick alias", "Crash"]  # the disabled clip is skipped
    loop, alias, crash = kicks
    assert (loop["unit"], loop["start"], loop["length"], loop["loop"]) == ("seconds", 1.0, 2.0, [0.0, 0.5])
    assert alias["source"]["artifact"] == loop["source"]["artifact"]  # the alias plays the same file
    assert crash["source"]["offline"]  # external file: kept offline, never read from the user's disk
    (arp,) = _clips(state, tracks["Synth"])
    assert [n[0] for n in arp["notes"]] == [64, 67]
    for said in (
        "crash.wav",
        "outside the project file",
        "folder 'Drums'",
        "Retrologue",
        "tempo changes",
        "time-signature changes",
        "'Start'",
        "note expression",
        "clip-launcher",
        "disabled clip",
    ):
        assert said in out.summary, said


def test_the_format_test_suites_complex_project(session, run_tool):
    out = run_tool(
        "open_project", file=_put(session, "complex.dawproject", {"project.xml": _dawproject_test_complex()})
    )
    state = Project(session).state()
    tracks = _by_name(state)
    assert list(tracks) == ["Track 1", "Track 2", "Track 3"]
    for i, t in enumerate(tracks.values()):
        clip, alias = _clips(state, t)
        assert (clip["start"], alias["start"]) == (8.0 * i, 32.0 + 8 * i)
        assert clip["notes"] == alias["notes"] and len(clip["notes"]) == 8
    for said in ("2 marker(s)", "'Verse' at beat 0", "'Chorus' at beat 24", "1 automation lane", "Limiter"):
        assert said in out.summary, said


def test_a_looped_outer_clip_is_unrolled_pass_by_pass():
    """Nested clips under an outer loop: each pass of the loop becomes its own clip."""
    xml = BITWIG_README.replace(
        b'duration="8.00003433227539" playStart="0.0" loopStart="0.0" loopEnd="8.00003433227539"',
        b'duration="20.0" playStart="2.0" loopStart="0.0" loopEnd="8.0"',
    )
    state, _ = dawproject.import_dawproject(zip_bytes({"project.xml": xml}), lambda p, b: {})
    drums = sorted((c for c in state["clips"].values() if c["kind"] == "audio"), key=lambda c: c["start"])
    # passes: content 2..8 at 0, 0..8 at 6, 0..6 at 14 (20 beats in all)
    assert [(c["start"], c["length"], c["offset"]) for c in drums] == [
        (0.0, 6.0, 2.0),
        (6.0, 8.0, 0.0),
        (14.0, 6.0, 0.0),
    ]


@pytest.mark.parametrize(
    "members,refusal",
    [
        ({"project.xml": b"<Project"}, "not well-formed"),
        ({"metadata.xml": b"<MetaData/>"}, "no project.xml"),
        (
            {"project.xml": project_xml(track="&x;", doctype='<!DOCTYPE P [<!ENTITY x SYSTEM "file:///etc/passwd">]>')},
            "DTD",
        ),
        ({"project.xml": nested_lanes_xml(400)}, "deep"),
    ],
    ids=["malformed", "no-project", "xxe", "deep"],
)
def test_hostile_projects_are_refused_in_one_line(members, refusal):
    with pytest.raises(EarshotError) as info:
        dawproject.import_dawproject(zip_bytes(members), lambda p, b: pytest.fail("nothing may be unpacked"))
    assert refusal in str(info.value) and "\n" not in str(info.value)


def test_zip_bombs_are_refused_before_they_unpack():
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for data in (deflate_bomb_zip("project.xml", 256 << 20), lying_size_zip("project.xml", 64 << 20, 1000)):
        with pytest.raises(EarshotError) as info:
            dawproject.import_dawproject(data, lambda p, b: pytest.fail("nothing may be unpacked"))
        assert "zip bomb" in str(info.value) or "damaged" in str(info.value)
    # an audio member over the budget left for the whole file
    members = {"project.xml": project_xml(), "audio/take.wav": bytes(8 << 20)}
    with pytest.raises(EarshotError, match="unpacks to more than"):
        dawproject.import_dawproject(zip_bytes(members), lambda p, b: {}, max_total_bytes=4 << 20)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 100, f"peak memory grew {grown_mb:.0f} MB while refusing the bombs"


def test_a_project_that_fails_half_way_leaves_nothing_behind(session, run_tool):
    good = _wav(0.5, 16_000, 1)
    xml = project_xml().replace(
        b"</Clips>",
        b'<Clip time="8" duration="4"><Audio channels="1" sampleRate="16000" '
        b'duration="0.5" id="x"><File path="audio/b.wav"/></Audio></Clip></Clips>',
    )
    name = _put(session, "half.dawproject", {"project.xml": xml, "audio/take.wav": good, "audio/b.wav": b"not audio"})
    before = set(Path(session.workspace).iterdir())
    with pytest.raises(EarshotError, match="'audio/b.wav' is not a readable audio file"):
        run_tool("open_project", file=name)
    assert set(Path(session.workspace).iterdir()) == before
    assert [a.name for a in session.artifacts()] == ["half.dawproject"]
