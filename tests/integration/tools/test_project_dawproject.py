"""DAWproject 1.0 interchange: every export validates against the official schemas, export → import
→ export gives identical bytes (and the same project), random projects included; foreign files
import with what cannot be kept named; the standard MIDI file holds the notes where they play."""

from __future__ import annotations

import io
import zipfile
from functools import lru_cache
from pathlib import Path

import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from project_signals import noise, write

from assistant.errors import EarshotError
from assistant.project import Project, dawproject
from assistant.project.effects import EFFECTS
from assistant.project.midi import export_midi
from assistant.project.model import effects_in_order, tracks_in_order
from tests.project_ops import draw_op, run_op

pytestmark = pytest.mark.integration
RATE = 44100
SCHEMAS = Path("/work/shared/schemas/dawproject")
PACKAGED = Path(dawproject.__file__).parent / "schemas"


@lru_cache(maxsize=2)
def _schema(name: str):
    """The schema files as published (the shared copy when present, else the packaged one), compiled
    once per run: compiling Project.xsd takes about a second."""
    import xmlschema

    root = SCHEMAS if SCHEMAS.exists() else PACKAGED
    return xmlschema.XMLSchema(str(root / name))


def _validate(data: bytes) -> None:
    z = zipfile.ZipFile(io.BytesIO(data))
    _schema("Project.xsd").validate(z.read("project.xml").decode())
    _schema("MetaData.xsd").validate(z.read("metadata.xml").decode())


def _store(workspace: Path):
    def store(zip_path: str, blob: bytes) -> dict:
        dest = workspace / f"imported-{len(list(workspace.iterdir()))}-{Path(zip_path).name}"
        dest.write_bytes(blob)
        info = sf.info(str(dest))
        return {
            "artifact": 0,
            "path": str(dest),
            "name": Path(zip_path).name,
            "sha256": "",
            "duration_s": info.frames / info.samplerate,
            "sample_rate_hz": info.samplerate,
            "channels": info.channels,
        }

    return store


def _portable(s: dict) -> dict:
    """A project without what an interchange file cannot carry (our ids, file paths, sample rate; file
    names are stored in a portable spelling)."""
    order = {t["id"]: i for i, t in enumerate(tracks_in_order(s))}

    def fx(chain):
        return [(e["type"], e["params"], e["enabled"]) for e in effects_in_order(chain)]

    tracks = [
        (
            t["name"],
            t["kind"],
            t["gain_db"],
            t["pan"],
            t["mute"],
            t["solo"],
            t["program"] if t["kind"] == "midi" else 0,
            fx(t["effects"]),
        )
        for t in tracks_in_order(s)
    ]
    clips = sorted(
        (
            order[c["track"]],
            c["unit"],
            c["start"],
            c["name"],
            c["length"],
            c["content_unit"],
            c["offset"],
            c["loop"],
            c["fade_in_s"],
            c["fade_out_s"],
            c["gain_db"],
            c["warp"],
            dawproject._safe_name(c["source"]["name"]) if c["kind"] == "audio" else None,
            c["notes"],
        )
        for c in s["clips"].values()
    )
    m = s["master"]
    return {
        "name": s["name"],
        "tempo": s["tempo_bpm"],
        "sig": s["time_signature"],
        "tracks": tracks,
        "clips": clips,
        "master": (m["gain_db"], m["limiter_db"], fx(m["effects"])),
    }


def _rich_project(session) -> Project:
    srcs = []
    for n, (seconds, ch) in enumerate([(1.5, 1), (0.8, 2)], 1):
        path = session.workspace / f"take {n}.wav"
        write(path, noise(seconds, RATE, ch, seed=n), RATE)
        srcs.append(
            {
                "artifact": n,
                "path": str(path),
                "name": path.name,
                "sha256": "",
                "duration_s": seconds,
                "sample_rate_hz": RATE,
                "channels": ch,
            }
        )
    p = Project(session)
    p.apply("rename_project", name="Rain & Piano <demo>")
    p.apply("set_tempo", bpm=93.5)
    p.apply("set_time_signature", numerator=6, denominator=8)
    for name, kind in (("Drums", "audio"), ("Vocal", "audio"), ("Keys", "midi")):
        p.apply("add_track", name=name, kind=kind, program=5 if kind == "midi" else 0)
    p.apply("set_track", track_id="t2", gain_db=-4.5, pan=-0.333, solo=True)
    p.apply("set_track", track_id="t1", gain_db=2.25, pan=0.75, mute=True)
    for i, kind in enumerate(sorted(EFFECTS)):
        p.apply("add_effect", owner=("t1", "t2", "master")[i % 3], kind=kind)
    assert p.state()["tracks"]["t1"]["effects"]["e4"]["type"] == "bitcrush"
    p.apply("set_effect", owner="t1", effect_id="e4", param="bit_depth", value=6.5, enabled=False)
    p.apply("place_clip", track_id="t2", start=0.0, unit="beats", source=srcs[0], source_bpm=120.0)
    p.apply("place_clip", track_id="t2", start=2.5, unit="seconds", source=srcs[1])
    p.apply("place_clip", track_id="t1", start=4.0, unit="beats", source=srcs[0])
    cids = sorted(p.state()["clips"], key=lambda c: int(c[1:]))
    p.apply("loop_clip", clip_id=cids[0], length=12.0)
    p.apply("set_clip", clip_id=cids[1], gain_db=-6.0, fade_in_s=0.1, fade_out_s=0.25)
    p.apply("trim_clip", clip_id=cids[2], start=4.5)
    p.apply(
        "place_clip",
        track_id="t3",
        start=0.0,
        unit="beats",
        notes=[[60, 0.0, 1.0, 100], [64, 1.5, 0.5, 64], [67, 2.0, 1.0, 127]],
    )
    p.apply("set_master", gain_db=-1.5, limiter_db=-0.5)
    return p


def test_export_validates_and_round_trips_identically(session):
    p = _rich_project(session)
    first = dawproject.export_dawproject(p.state())
    _validate(first)
    names = zipfile.ZipFile(io.BytesIO(first)).namelist()
    assert names == ["project.xml", "metadata.xml", "audio/take-1.wav", "audio/take-2.wav"]
    state, notes = dawproject.import_dawproject(first, _store(session.workspace))
    assert notes == []
    second = dawproject.export_dawproject(state)
    assert second == first
    assert _portable(state) == _portable(p.state())


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.data())
def test_random_projects_round_trip(session, data):
    path = session.workspace / "src.wav"
    if not path.exists():
        write(path, noise(1.0, RATE, 2, seed=3), RATE)
    src = {
        "artifact": 1,
        "path": str(path),
        "name": "src.wav",
        "sha256": "",
        "duration_s": 1.0,
        "sample_rate_hz": RATE,
        "channels": 2,
    }
    from assistant.store.session import SessionStore

    store = SessionStore(session.workspace / f"db-{len(list(session.workspace.iterdir()))}.db")
    project = Project(store.create_session(session.workspace))
    for _ in range(data.draw(st.integers(1, 20))):
        kind, args = draw_op(data, project.state(), [src])
        try:
            run_op(project, kind, args)
        except EarshotError:
            pass
    state = project.state()
    first = dawproject.export_dawproject(state)
    _validate(first)
    again, _ = dawproject.import_dawproject(first, _store(session.workspace))
    assert dawproject.export_dawproject(again) == first
    assert _portable(again) == _portable(state)
    store.close()


def test_open_project_tool_and_export_tool(session, run_tool):
    p = _rich_project(session)
    out = run_tool("render_project", op="dawproject")
    art = out.artifacts[0]
    assert art.name.endswith(".dawproject")
    before = p.state()
    Project(session).apply("remove_track", track_id="t2")
    reply = run_tool("open_project", file=art.ref)
    assert "opened" in reply.summary
    assert _portable(Project(session).state()) == _portable(before)
    assert dawproject.export_dawproject(Project(session).state()) == art.path.read_bytes()
    run_tool("project_undo")  # the import is one undoable change
    assert "Vocal" not in [t["name"] for t in Project(session).state()["tracks"].values()]
    assert len(Project(session).state()["tracks"]) == 2


FOREIGN = b"""<?xml version="1.0" encoding="UTF-8"?>
<Project version="1.0">
  <Application name="Bitwig Studio" version="5.1"/>
  <Transport><Tempo unit="bpm" value="128.0" id="id0" name="Tempo"/>
    <TimeSignature numerator="4" denominator="4" id="id1"/></Transport>
  <Structure>
    <Track contentType="audio" loaded="true" id="id2" name="Guitar">
      <Channel audioChannels="2" destination="id9" role="regular" solo="false" id="id3">
        <Devices>
          <Vst3Plugin deviceName="Pro-Q 3" deviceRole="audioFX" id="id4"><State path="plugins/x.vstpreset"/></Vst3Plugin>
          <Equalizer deviceName="EQ+" deviceRole="audioFX" id="id5">
            <Band type="highPass" order="2"><Freq unit="hertz" value="90.0"/></Band>
            <Band type="bell"><Freq unit="hertz" value="2500.0"/><Gain unit="decibel" value="-3.0"/><Q unit="linear" value="2.0"/></Band>
          </Equalizer>
        </Devices>
        <Mute value="false" id="id6" name="Mute"/>
        <Pan max="1.0" min="0.0" unit="normalized" value="0.25" id="id7" name="Pan"/>
        <Volume max="2.0" min="0.0" unit="linear" value="0.5" id="id8" name="Volume"/>
      </Channel>
    </Track>
    <Track contentType="audio notes" loaded="true" id="id10" name="Master">
      <Channel audioChannels="2" role="master" solo="false" id="id9"/>
    </Track>
  </Structure>
  <Arrangement id="id11">
    <Lanes timeUnit="beats" id="id12">
      <Lanes track="id2" id="id13">
        <Clips id="id14">
          <Clip time="8.0" duration="4.0" playStart="0.0" name="riff">
            <Warps contentTimeUnit="seconds" timeUnit="beats" id="id15">
              <Audio channels="2" duration="1.0" sampleRate="44100" id="id16"><File path="audio/riff.wav"/></Audio>
              <Warp time="0.0" contentTime="0.0"/><Warp time="4.0" contentTime="1.0"/>
            </Warps>
          </Clip>
        </Clips>
      </Lanes>
    </Lanes>
  </Arrangement>
</Project>
"""


def test_a_foreign_project_imports_with_what_was_skipped_named(session, tmp_path):
    wav = io.BytesIO()
    sf.write(wav, noise(1.0, RATE, 2, seed=5), RATE, format="WAV", subtype="FLOAT")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        z.writestr("project.xml", FOREIGN)
        z.writestr("audio/riff.wav", wav.getvalue())
    state, notes = dawproject.import_dawproject(data.getvalue(), _store(session.workspace))
    assert state["tempo_bpm"] == 128.0
    (t,) = state["tracks"].values()
    assert t["name"] == "Guitar" and t["pan"] == -0.5 and t["gain_db"] == pytest.approx(-6.021, abs=1e-3)
    assert [(e["type"], e["params"]["cutoff_hz"]) for e in effects_in_order(t["effects"])] == [
        ("highpass", 90.0),
        ("peak_eq", 2500.0),
    ]
    (c,) = state["clips"].values()
    assert (c["start"], c["length"], c["warp"], c["name"]) == (8.0, 4.0, [4.0, 1.0], "riff")
    assert any("Pro-Q 3" in n for n in notes)
    _validate(dawproject.export_dawproject(state))


def test_midi_file_holds_the_notes_where_they_play(session):
    import pretty_midi

    p = Project(session)
    p.apply("set_tempo", bpm=100.0)
    p.apply("add_track", name="Keys", kind="midi", program=4)
    p.apply("place_clip", track_id="t1", start=2.0, unit="beats", notes=[[60, 0.0, 0.5, 90], [67, 1.0, 0.5, 70]])
    p.apply("loop_clip", clip_id="c2", length=6.0)  # loops the 1.5 beats of content over 6 beats
    s = p.state()
    pm = pretty_midi.PrettyMIDI(io.BytesIO(export_midi(s)))
    (inst,) = pm.instruments
    assert inst.program == 4
    spb = 60 / 100.0
    starts = [round(n.start, 4) for n in inst.notes]
    loop_beats = s["clips"]["c2"]["loop"][1] - s["clips"]["c2"]["loop"][0]
    expected = []
    k = 0
    while k * loop_beats < s["clips"]["c2"]["length"]:
        expected += [
            round((2.0 + k * loop_beats + b) * spb, 4)
            for b in (0.0, 1.0)
            if k * loop_beats + b < s["clips"]["c2"]["length"]
        ]
        k += 1
    assert starts == pytest.approx(expected, abs=1e-3)
    assert [n.pitch for n in inst.notes][:2] == [60, 67]
