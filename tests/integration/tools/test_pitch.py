"""pitch: f0 error in cents on signals with a known pitch — synthetic tones, and melodies rendered by
fluidsynth from MIDI written here — for CREPE tiny (exported ONNX) and, compared, librosa's pyin; on
espeak-ng speech the two trackers agree; without the exported model the tool falls back to pyin and
says so."""

from __future__ import annotations

import numpy as np
import pytest
from pitch_signals import cents, harmonic_tone, render_midi, write_midi

from assistant.audio_models import pitch
from assistant.config import AcceleratorOptions
from assistant.errors import EarshotError

pytestmark = pytest.mark.integration

TONES_HZ = (65.41, 98.0, 130.81, 196.0, 261.63, 349.23, 440.0, 622.25, 880.0, 1174.66)


def report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n  [pitch] {line}")


def median_error_cents(contour: pitch.Contour, f0_hz: float, skip_s: float = 0.1) -> float:
    keep = (contour.times_s >= skip_s) & (contour.times_s <= contour.times_s[-1] - skip_s)
    voiced = contour.f0_hz[keep]
    voiced = voiced[np.isfinite(voiced)]
    assert len(voiced) > 0.8 * keep.sum(), "most of a steady tone must be voiced"
    return float(np.median(np.abs(cents(voiced, f0_hz))))


def test_synthetic_tones_crepe_within_10_cents_and_compared_with_pyin(config, capsys):
    crepe_err, pyin_err = [], []
    for i, f0 in enumerate(TONES_HZ):
        y = harmonic_tone(f0, seconds=0.5, seed=i)  # 0.3 s of steady frames after skipping the ends
        crepe_err.append(median_error_cents(pitch.estimate(y, config, 50, 1500, method="crepe"), f0))
        pyin_err.append(median_error_cents(pitch.estimate(y, config, 50, 1500, method="pyin"), f0))
    report(
        capsys,
        f"synthetic tones {TONES_HZ[0]}–{TONES_HZ[-1]} Hz: median |error| CREPE "
        f"{np.median(crepe_err):.1f} cents (worst {max(crepe_err):.1f}), pyin {np.median(pyin_err):.1f} "
        f"(worst {max(pyin_err):.1f})",
    )
    assert max(crepe_err) <= 10.0
    assert max(pyin_err) <= 15.0
    assert np.median(crepe_err) <= np.median(pyin_err) + 5.0


def test_pure_sine_and_note_names(config):
    t = np.arange(16000) / 16000
    y = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    contour = pitch.estimate(y, config, method="crepe")
    assert median_error_cents(contour, 440.0) <= 10.0
    notes = pitch.notes_of(contour)
    assert [n.name for n in notes] == ["A4"] and abs(notes[0].cents_off) <= 10


MELODIES = {
    # name: (GM program, notes (midi, start beat, beats)); 120 BPM, a gap between notes for clean onsets.
    "flute": (
        73,
        [
            (72, 0, 0.9),
            (74, 1, 0.9),
            (76, 2, 0.9),
            (77, 3, 0.9),
            (79, 4, 1.9),
            (76, 6, 0.9),
            (72, 7, 0.9),
            (81, 8, 1.9),
        ],
    ),
    # From G2 up: on a cello C2 (65 Hz) CREPE tiny reads the third harmonic (G3), pyin gets it right —
    # a known limit of the tiny model on low, weak fundamentals (the synthetic 65 Hz tone above is fine).
    "cello": (42, [(43, 0, 1.9), (50, 2, 1.9), (48, 4, 1.9), (45, 6, 1.9), (55, 8, 1.9)]),
}


@pytest.mark.parametrize("instrument", sorted(MELODIES))
def test_fluidsynth_melody_notes_and_cents(instrument, config, tmp_path, capsys):
    program, notes = MELODIES[instrument]
    audio = render_midi(write_midi(tmp_path / "m.mid", notes, program), tmp_path / "m.wav")
    results = {}
    for method in ("crepe", "pyin"):
        contour = pitch.estimate(audio, config, 30, 1500, method=method)
        hits, errs = 0, []
        for midi, start, beats in notes:
            # The middle of each note (beats are 0.5 s): away from attack and release.
            t0, t1 = start * 0.5 + 0.12, (start + beats) * 0.5 - 0.12
            sel = (contour.times_s >= t0) & (contour.times_s <= t1) & np.isfinite(contour.f0_hz)
            if sel.sum() < 5:
                continue
            f_ref = 440.0 * 2 ** ((midi - 69) / 12)
            err = cents(contour.f0_hz[sel], f_ref)
            errs.extend(np.abs(err))
            hits += abs(np.median(err)) < 50
        detected = [n.midi for n in pitch.notes_of(contour) if n.end_s - n.start_s >= 0.15]
        results[method] = (hits / len(notes), float(np.median(errs)), detected)
    report(
        capsys,
        f"{instrument} (fluidsynth): notes right CREPE {results['crepe'][0]:.0%}, pyin "
        f"{results['pyin'][0]:.0%}; median |error| CREPE {results['crepe'][1]:.1f} cents, "
        f"pyin {results['pyin'][1]:.1f}",
    )
    assert results["crepe"][0] >= 0.9
    assert results["crepe"][1] <= 25.0
    # The note list names the melody in order (a note may be split by vibrato or a breath, not changed).
    expected = [m for m, _, _ in notes]
    collapsed = [m for i, m in enumerate(results["crepe"][2]) if i == 0 or m != results["crepe"][2][i - 1]]
    assert collapsed == expected


def test_espeak_speech_crepe_agrees_with_pyin(config, tmp_path, capsys):
    import soundfile as sf

    from assistant.audio.files import resample
    from tests.conftest import espeak

    path = espeak("The quick brown fox jumps over the lazy dog, and sings a little song.", tmp_path / "s.wav")
    audio, rate = sf.read(path, dtype="float32")
    audio = resample(audio, rate, 16000)
    c = pitch.estimate(audio, config, 60, 500, method="crepe")
    p = pitch.estimate(audio, config, 60, 500, method="pyin")
    n = min(len(c.f0_hz), len(p.f0_hz))
    both = np.isfinite(c.f0_hz[:n]) & np.isfinite(p.f0_hz[:n])
    diff = np.abs(cents(c.f0_hz[:n][both], p.f0_hz[:n][both]))
    report(
        capsys,
        f"espeak-ng speech: {both.sum()} frames voiced for both; median |CREPE − pyin| "
        f"{np.median(diff):.1f} cents, {np.mean(diff > 600):.1%} octave disagreements",
    )
    assert both.sum() > 50
    assert np.median(diff) <= 50.0
    assert np.mean(diff > 600) <= 0.1


def test_tool_writes_the_contour_and_names_the_notes(run_tool, session, capsys):
    from tests.conftest import add_input

    y = np.concatenate(
        [harmonic_tone(220.0, 0.6, seed=1), np.zeros(3200, np.float32), harmonic_tone(329.63, 0.6, seed=2)]
    )
    add_input(session, y, 16000, name="two-notes.wav")
    result = run_tool("pitch", file="two-notes.wav")
    assert result.data["method"] == "crepe" and "CREPE tiny (learned, ONNX)" in result.summary
    assert [n["name"] for n in result.data["notes"]] == ["A3", "E4"]
    (art,) = result.artifacts
    lines = art.path.read_text().splitlines()
    assert lines[0] == "time_s,f0_hz,confidence,voiced,note"
    rows = [line.split(",") for line in lines[1:]]
    voiced = [float(r[1]) for r in rows if r[3] == "1"]
    assert abs(np.median(cents(voiced[: len(voiced) // 2], 220.0))) <= 15


def test_without_the_exported_model_pyin_stands_in_and_says_so(run_tool, session, config, tmp_path):
    from tests.conftest import add_input

    config.accelerator = AcceleratorOptions(exports_dir=tmp_path / "no-exports")
    add_input(session, harmonic_tone(196.0, 1.0), 16000, name="g3.wav")
    result = run_tool("pitch", file="g3.wav")
    assert result.data["method"] == "pyin"
    assert "pyin (signal processing" in result.summary and "not installed" in result.summary
    assert result.data["median_note"] == "G3"


def test_too_short_a_file_is_refused(run_tool, session):
    from tests.conftest import add_input

    click = (0.3 * np.sin(2 * np.pi * 196.0 * np.arange(160) / 16000)).astype(np.float32)  # 10 ms
    add_input(session, click, 16000, name="click.wav")
    with pytest.raises(EarshotError, match="too short to find a pitch"):
        run_tool("pitch", file="click.wav")
