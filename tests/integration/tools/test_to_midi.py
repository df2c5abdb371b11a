"""to_midi: Basic Pitch on melodies rendered by fluidsynth from MIDI files the test writes.

Measured: note F1 (mir_eval, 50 ms onset tolerance, pitch within 50 cents), onset-only — the bar is
≥ 0.8 — and, reported alongside, with offsets (offset within 20 % of the note or 50 ms)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from music_signals import melody_midi, midi_to_hz, render_midi

pytestmark = pytest.mark.integration

# "Ode to Joy", first phrase plus a leap and a run: 24 notes, C4..G5.
ODE = [
    (64, 1),
    (64, 1),
    (65, 1),
    (67, 1),
    (67, 1),
    (65, 1),
    (64, 1),
    (62, 1),
    (60, 1),
    (60, 1),
    (62, 1),
    (64, 1),
    (64, 1.5),
    (62, 0.5),
    (62, 2),
    (72, 1),
    (71, 0.5),
    (69, 0.5),
    (67, 1),
    (79, 1),
    (76, 0.5),
    (74, 0.5),
    (72, 1),
    (60, 2),
]


def note_f1(ref, est_notes, offsets: bool) -> tuple[float, float, float]:
    import mir_eval

    ref_iv = np.array([[n.start_s, n.end_s] for n in ref])
    ref_hz = np.array([midi_to_hz(n.pitch) for n in ref])
    est_iv = np.array([[n["start_s"], max(n["end_s"], n["start_s"] + 0.01)] for n in est_notes]).reshape(-1, 2)
    est_hz = np.array([midi_to_hz(n["pitch"]) for n in est_notes])
    p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ref_iv,
        ref_hz,
        est_iv,
        est_hz,
        onset_tolerance=0.05,
        pitch_tolerance=50.0,
        offset_ratio=0.2 if offsets else None,
    )
    return p, r, f


@pytest.mark.parametrize("program,name", [(0, "piano"), (24, "nylon guitar")])
def test_to_midi_note_f1_on_rendered_melody(tmp_path, session, run_tool, program, name):
    from assistant.audio_models.registry import default_registry  # noqa: F401  (import check)

    midi_path, wav = tmp_path / "melody.mid", session.workspace / f"melody-{program}.wav"
    truth = melody_midi(midi_path, ODE, tempo_bpm=110, program=program)
    render_midi(midi_path, wav)
    result = run_tool("to_midi", file=wav.name)
    p, r, f = note_f1(truth, result.data["notes"], offsets=False)
    _, _, f_off = note_f1(truth, result.data["notes"], offsets=True)
    print(f"{name}: onset-only P={p:.3f} R={r:.3f} F1={f:.3f}; with offsets F1={f_off:.3f}")
    assert f >= 0.8, f"{name}: note F1 {f:.3f} (P {p:.3f}, R {r:.3f}) below 0.8"
    # The MIDI artifact holds the same notes.
    import pretty_midi

    midi = pretty_midi.PrettyMIDI(io.BytesIO(result.artifacts[0].path.read_bytes()))
    assert sum(len(i.notes) for i in midi.instruments) == result.data["count"]
