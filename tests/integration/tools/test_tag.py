"""tag: tempo, key and content on audio rendered by fluidsynth from MIDI the test writes at a known
tempo and key, and on speech."""

from __future__ import annotations

import json

import pytest
from music_signals import chord_progression_midi, render_midi

pytestmark = pytest.mark.integration

CASES = [  # key, mode, tempo, drums, GM program of the chords/melody
    ("D", "major", 100, True, 0),  # piano + drums
    ("E", "minor", 128, True, 0),
    ("Bb", "major", 84, False, 0),  # piano alone
    ("F#", "minor", 110, False, 48),  # strings alone
    ("A", "minor", 72, True, 24),  # nylon guitar + drums
]


@pytest.mark.parametrize("key,mode,tempo,drums,program", CASES)
def test_tempo_within_2_percent_and_key_correct(tmp_path, session, run_tool, key, mode, tempo, drums, program):
    mid = tmp_path / "song.mid"
    wav = session.workspace / f"song-{key}{mode}.wav"
    chord_progression_midi(mid, key, mode, tempo, bars=8, drums=drums, program=program)
    render_midi(mid, wav)
    result = run_tool("tag", file=wav.name)
    facts = result.data
    print(
        f"{key} {mode} {tempo} BPM → {facts['tempo_bpm']} BPM, {facts['key']} "
        f"(r={facts['key_correlation']}), {facts['instruments_guess']}"
    )
    assert facts["content"] == "music"
    assert facts["tempo_bpm"] is not None and abs(facts["tempo_bpm"] - tempo) / tempo <= 0.02
    assert facts["key"] == f"{key} {mode}"
    assert ("drums/percussion" in facts["instruments_guess"]) == drums
    if not drums:  # the family guess from note decay, on the clean (drum-free) renderings
        family = "sustained" if program == 48 else "plucked/struck"
        assert any(g.startswith(family) for g in facts["instruments_guess"])
    assert len(facts["beats_s"]) >= 8 * 4 - 4  # a beat grid, not just a number
    saved = json.loads(result.artifacts[0].path.read_text())
    assert saved["key"] == facts["key"] and saved["tempo_bpm"] == facts["tempo_bpm"]
    assert f"{tempo:.0f} BPM" in result.summary and f"key {key} {mode}" in result.summary


def test_speech_is_tagged_speech_without_key_or_tempo(tmp_path, session, run_tool):
    from tests.conftest import espeak

    espeak(
        "Good morning. This is a short announcement about the schedule for the studio today. "
        "The first session starts at nine and the second one after lunch.",
        session.workspace / "talk.wav",
    )
    facts = run_tool("tag", file="talk.wav").data
    assert facts["content"] == "speech"
    assert facts["tempo_bpm"] is None and facts["key"] is None
    assert "speaking voice" in facts["instruments_guess"]
