"""The project tools as plan steps run them: references in words, numbered changes in replies,
undoing one change of a "vibe", tracks that are audio or MIDI, and a MIDI clip that sounds at the
pitch and time its notes say (FluidSynth)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from project_signals import noise, write

from assistant.errors import EarshotError
from assistant.project import Project

pytestmark = pytest.mark.integration
RATE = 44100


@pytest.fixture
def files(session):
    for name, seconds in (("drums.wav", 2.0), ("verse.wav", 1.0), ("chorus.wav", 1.5)):
        write(session.workspace / name, noise(seconds, RATE, 1, seed=len(name)), RATE)
    return session.workspace


def test_building_a_song_in_words(files, session, run_tool):
    r = run_tool("clip", op="place", file="drums.wav", track="drums")
    assert "added audio track 1 'drums'" in r.summary and r.data["changes"][1]["seq"] == 3
    run_tool("clip", op="place", file="verse.wav", track="vocals", at=2, unit="bars")
    run_tool("clip", op="place", file="chorus.wav", track="vocals", at=16, unit="beats")
    run_tool("clip", op="loop", clip="the drums", length=8, unit="bars")
    state = Project(session).state()
    drums = next(c for c in state["clips"].values() if c["name"] == "drums.wav")
    assert drums["length"] == 32.0 and drums["loop"] == [0.0, 2.0]
    # "the second vocal clip" is the chorus (ordered by time), "it" the clip changed last
    r = run_tool("clip", op="split", clip="the second vocal clip", at=17, unit="beats")
    assert "chorus.wav" in r.summary
    r = run_tool("clip", op="fade", clip="it", fade_out_s=0.25)
    assert "fade-out 0.25 s" in r.summary
    run_tool("track", op="gain", track="the drums", gain_db=-4.5)
    run_tool("track", op="pan", track="2", pan=-0.5)
    run_tool("track_effect", op="add", effect="lowpass", track="drums", value=2000)
    r = run_tool("track_effect", op="set", effect="reverb", track="the vocals", param="size", value=0.8)
    assert "added reverb" in r.summary and "room_size 0.8" in r.summary
    state = Project(session).state()
    assert state["tracks"]["t1"]["gain_db"] == -4.5 and state["tracks"]["t3"]["pan"] == -0.5
    text = run_tool("describe_project").summary
    assert "1. drums (audio) -4.5 dB, fx: lowpass(cutoff_hz 2000" in text
    assert "2. vocals (audio) pan -0.5, fx: reverb(room_size 0.8" in text
    with pytest.raises(EarshotError, match="could mean"):
        run_tool("clip", op="delete", clip="the vocal clip")


def test_a_vibe_is_numbered_changes_each_undoable(files, session, run_tool):
    run_tool("clip", op="place", file="drums.wav", track="drums")
    run_tool("clip", op="place", file="verse.wav", track="voice")
    before = Project(session).state()
    r = run_tool("vibe", descriptor="phone", track="voice")
    labels = [c["label"] for c in r.data["changes"]]
    fx = Project(session).state()["tracks"]["t3"]["effects"]
    ids = {e["type"]: e["id"] for e in fx.values()}
    assert labels == [
        f"voice: added high-pass {ids['highpass']} (cutoff_hz 400, order 4)",
        f"voice: added low-pass {ids['lowpass']} (cutoff_hz 3400, order 4)",
        f"voice: added distortion {ids['distortion']} (drive_db 8)",
    ]
    relaxed = run_tool("vibe", descriptor="relaxed", track="voice")
    assert "tempo left alone" in relaxed.summary.lower()
    # undo the distortion alone: everything else the two vibes did stays
    dist = r.data["changes"][2]["seq"]
    run_tool("project_undo", change=dist)
    fx = Project(session).state()["tracks"]["t3"]["effects"]
    assert ids["distortion"] not in fx and {ids["highpass"], ids["lowpass"]} <= set(fx)
    run_tool("project_undo")  # the undo of #dist
    run_tool("project_undo", steps=2)  # then the relaxed vibe, then the phone vibe
    assert Project(session).state()["tracks"] == before["tracks"]
    run_tool("project_undo", op="redo")
    assert set(Project(session).state()["tracks"]["t3"]["effects"]) == set(ids.values())


def test_tempo_keeps_unwarped_audio_and_stretches_warped(files, session, run_tool):
    path = session.workspace / "loop.wav"
    write(path, noise(2.0, RATE, 1, seed=9), RATE)
    session.add_artifact(
        path, "audio", tool="compose", duration_s=2.0, sample_rate_hz=RATE, channels=1, meta={"tempo_bpm": 120.0}
    )
    run_tool("clip", op="place", file="loop.wav", track="loop")  # warped: it knows its tempo
    run_tool("clip", op="place", file="verse.wav", track="voice")  # unwarped
    run_tool("project_tempo", bpm=96, time_signature="3/4")
    s = Project(session).state()
    loop = next(c for c in s["clips"].values() if c["name"] == "loop.wav")
    voice = next(c for c in s["clips"].values() if c["name"] == "verse.wav")
    assert loop["length"] == 4.0 and loop["warp"] == [4.0, 2.0]  # 4 beats, now 2.5 s
    assert voice["length"] == pytest.approx(1.6) and voice["warp"] is None  # still 1.0 s
    out = run_tool("render_project")
    audio, rate = sf.read(str(out.artifacts[0].path), always_2d=True)
    assert abs(audio.shape[0] / rate - 2.5) < 0.05
    assert out.artifacts[0].meta["tempo_bpm"] == 96.0


def test_a_midi_clip_plays_its_notes(session, run_tool):
    import librosa
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    inst = pretty_midi.Instrument(program=0)
    inst.notes.append(pretty_midi.Note(velocity=100, pitch=69, start=0.5, end=1.5))  # A4 at beat 1
    pm.instruments.append(inst)
    pm.write(str(session.workspace / "a4.mid"))
    r = run_tool("clip", op="place", file="a4.mid", track="piano", at=2, unit="beats")
    assert "added midi track" in r.summary
    out = run_tool("render_project")
    audio, rate = sf.read(str(out.artifacts[0].path), always_2d=True)
    mono = audio.mean(axis=1)
    onset = int(np.argmax(np.abs(mono) > 0.01 * np.abs(mono).max())) / rate
    f0, voiced, _ = librosa.pyin(mono[int(1.6 * rate) : int(2.2 * rate)], fmin=200, fmax=900, sr=rate)
    cents = 1200 * np.log2(np.nanmedian(f0[voiced]) / 440.0)
    print(f"MIDI note onset {onset:.3f} s (expected 1.500), pitch error {cents:+.1f} cents")
    assert abs(onset - 1.5) < 0.02  # beat 2 + the note's beat 1, at 120 BPM
    assert abs(cents) < 25


def test_bar_zero_is_the_start_of_the_song(files, session, run_tool):
    """Bars count from 1, as on a DAW's ruler; a plan that says "at bar 0" means the start (seen in a
    spoken session: the clip was refused as starting before the song)."""
    run_tool("clip", op="place", file="drums.wav", track="drums", at=0, unit="bars")
    run_tool("clip", op="place", file="verse.wav", track="vocals", at=2, unit="bars")
    starts = {c["name"]: c["start"] for c in Project(session).state()["clips"].values()}
    assert starts == {"drums.wav": 0.0, "verse.wav": 4.0}
