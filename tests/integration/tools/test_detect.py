"""detect: event onsets on a synthetic scene whose event times the test chose."""

from __future__ import annotations

import json

import numpy as np
import pytest
from music_signals import event_scene

pytestmark = pytest.mark.integration

ONSET_TOLERANCE_S = 0.05


def test_event_onsets_within_50_ms(tmp_path, session, run_tool):
    from tests.conftest import add_input

    audio, truth = event_scene(tmp_path)
    add_input(session, audio, 16000, "scene.wav")
    result = run_tool("detect", file="scene.wav")
    events = result.data["events"]
    errors = []
    for label, start, end in truth:
        same = [e for e in events if e["label"] == label]
        assert same, f"no {label} event found (truth {start:.2f}–{end:.2f} s)"
        nearest = min(same, key=lambda e: abs(e["start_s"] - start))
        errors.append((label, start, nearest["start_s"] - start))
    print("onset errors (ms):", ", ".join(f"{lab}@{t:.1f}s {1000 * err:+.0f}" for lab, t, err in errors))
    assert all(abs(err) <= ONSET_TOLERANCE_S for _, _, err in errors), errors
    # Nothing invented: every speech/noise/music/hits/clipping event lies inside a true event of that label.
    for e in events:
        if e["label"] == "silence":
            continue
        assert any(
            lab == e["label"] and e["start_s"] < end + 0.05 and e["end_s"] > start - 0.05 for lab, start, end in truth
        ), f"spurious event {e}"
    # The JSON artifact holds the same events; the reply names the method.
    payload = json.loads(result.artifacts[0].path.read_text())
    assert payload["events"] == events
    assert "Signal processing" in result.summary


def test_find_filters_one_kind(tmp_path, session, run_tool):
    from tests.conftest import add_input

    audio, truth = event_scene(tmp_path)
    add_input(session, audio, 16000, "scene.wav")
    result = run_tool("detect", file="scene.wav", find="hits")
    starts = [e["start_s"] for e in result.data["events"]]
    assert {e["label"] for e in result.data["events"]} == {"hits"}
    expected = [s for lab, s, _ in truth if lab == "hits"]
    assert len(starts) == len(expected)
    assert np.allclose(starts, expected, atol=ONSET_TOLERANCE_S)


def test_singing_and_speech_are_told_apart(tmp_path, session, run_tool):
    """The same words sung (the sing tool: held, steady pitch) and spoken (espeak-ng: gliding pitch)."""
    from music_signals import place, read_mono, trimmed

    from tests.conftest import add_input, espeak

    sung = run_tool(
        "sing",
        notes="C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2 F4:1 F4:1 E4:1 E4:1 D4:1 D4:1 C4:2",
        lyrics="twin-kle twin-kle lit-tle star how I won-der what you are",
        tempo_bpm=100,
    )
    voice = read_mono(sung.artifacts[0].path, 16000)
    spoken = trimmed(
        read_mono(espeak("Twinkle twinkle little star, how I wonder what you are.", tmp_path / "s.wav"), 16000)
    )
    out = np.zeros(16000 * 18, np.float32)
    sung_span = place(out, 0.5 * voice / np.max(np.abs(voice)), 0.5, 16000)
    spoken_span = place(out, 0.5 * spoken / np.max(np.abs(spoken)), 12.0, 16000)
    add_input(session, out, 16000, "voices.wav")
    events = run_tool("detect", file="voices.wav").data["events"]

    def covered(label, span):
        inside = sum(
            max(0.0, min(e["end_s"], span[1]) - max(e["start_s"], span[0])) for e in events if e["label"] == label
        )
        return inside / (span[1] - span[0])

    print(
        f"singing covers {covered('singing', sung_span):.0%} of the sung part, "
        f"speech {covered('speech', spoken_span):.0%} of the spoken part"
    )
    assert covered("singing", sung_span) >= 0.8
    assert covered("speech", spoken_span) >= 0.8
