"""extract: the kept segment overlaps the event the query names by ≥ 90 % — of the event (nothing of
it lost) and of the cut (not much else kept)."""

from __future__ import annotations

import numpy as np
import pytest
from music_signals import (
    bark,
    chord_progression_midi,
    harmonic_tone,
    midi_to_hz,
    noise_burst,
    place,
    read_mono,
    render_midi,
    trimmed,
)

pytestmark = pytest.mark.integration
RATE = 16000


def overlap(cut: tuple[float, float], target: tuple[float, float]) -> tuple[float, float]:
    """(share of the target inside the cut, share of the cut inside the target)."""
    inter = max(0.0, min(cut[1], target[1]) - max(cut[0], target[0]))
    return inter / (target[1] - target[0]), inter / (cut[1] - cut[0])


def speech(tmp_path, text: str, voice: str = "en-us") -> np.ndarray:
    from tests.conftest import espeak

    x = trimmed(read_mono(espeak(text, tmp_path / f"{abs(hash(text))}.wav", voice=voice), RATE))
    return 0.5 * x / np.max(np.abs(x))


def scene_with_bark(tmp_path):
    """Speech, then a dog bark over a quiet room tone, then a held chord."""
    out = noise_burst(RATE, 12.0, 0.002, seed=9)
    truth = {
        "speech": place(out, speech(tmp_path, "Let me tell you about the new studio."), 0.5, RATE),
        "bark": place(out, bark(RATE), 5.0, RATE),
    }
    chord = sum(harmonic_tone(midi_to_hz(p), 3.0, RATE) for p in (57, 60, 64)) / 3
    truth["music"] = place(out, 0.3 * chord, 8.0, RATE)
    return out, truth


def check(result, target, label):
    spans = result.data["spans_s"]
    assert len(spans) == 1, spans
    of_target, of_cut = overlap(tuple(spans[0]), target)
    print(
        f"{label}: cut {spans[0][0]:.2f}–{spans[0][1]:.2f} s vs {target[0]:.2f}–{target[1]:.2f} s: "
        f"{of_target:.0%} of the event kept, {of_cut:.0%} of the cut on it"
    )
    assert of_target >= 0.9 and of_cut >= 0.9
    n = int(round((spans[0][1] - spans[0][0]) * RATE))
    assert abs(result.artifacts[0].duration_s * RATE - n) <= 2


def test_time_range_is_cut_exactly(session, run_tool):
    from tests.conftest import add_input

    add_input(session, noise_burst(RATE, 40.0, 0.1), RATE, "long.wav")
    result = run_tool("extract", file="long.wav", query="0:10 to 0:25")
    check(result, (10.0, 25.0), "0:10 to 0:25")


@pytest.mark.parametrize(
    "query,target", [("the speech", "speech"), ("the part where the dog barks", "bark"), ("the music", "music")]
)
def test_named_sound_is_cut(tmp_path, session, run_tool, query, target):
    from tests.conftest import add_input

    audio, truth = scene_with_bark(tmp_path)
    add_input(session, audio, RATE, "scene.wav")
    result = run_tool("extract", file="scene.wav", query=query)
    check(result, truth[target], query)
    if target == "bark":
        assert "no sound classifier" in result.summary  # honest about the guess


def test_loudest_bar(tmp_path, session, run_tool):
    """A rendered progression at 120 BPM with bar 6 of 8 played 12 dB louder."""
    import soundfile as sf

    mid, wav = tmp_path / "p.mid", tmp_path / "p.wav"
    chord_progression_midi(mid, "C", "major", 120, bars=8, drums=True)
    render_midi(mid, wav)
    x, r = sf.read(str(wav), dtype="float32")
    bar_s = 4 * 60 / 120
    target = (5 * bar_s, 6 * bar_s)
    x[int(target[0] * r) : int(target[1] * r)] *= 10 ** (12 / 20)
    sf.write(str(session.workspace / "loud.wav"), x / np.max(np.abs(x)) * 0.9, r, subtype="FLOAT")
    result = run_tool("extract", file="loud.wav", query="the loudest bar")
    check(result, target, "loudest bar")
    assert "beat grid" in result.summary


def test_drums_come_from_hpss(session, run_tool):
    from music_signals import drum_track, harmonic_track

    from tests.conftest import add_input

    add_input(session, harmonic_track(22050, 4.0) + drum_track(22050, 4.0), 22050, "groove.wav")
    result = run_tool("extract", file="groove.wav", query="just the drums")
    assert result.data["stem"] == "drums" and "HPSS" in result.summary


def test_quoted_words_are_found_with_word_timestamps(tmp_path, session, run_tool):
    from tests.conftest import add_input, require_models

    require_models("whisper-tiny.en")
    out = np.zeros(RATE * 12, np.float32)
    place(out, speech(tmp_path, "Welcome back to the weekly studio update."), 0.5, RATE)
    target = place(out, speech(tmp_path, "The new microphones arrive on Thursday morning."), 5.0, RATE)
    add_input(session, out, RATE, "update.wav")
    result = run_tool(
        "extract", file="update.wav", query="the part where he says the new microphones arrive on Thursday morning"
    )
    check(result, target, "quoted words")
