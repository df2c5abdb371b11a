"""inpaint: a zeroed gap in a harmonic signal is filled far better than leaving it (SNR of the filled
region against the original), and nothing outside the region changes (bit-exact)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from synth_signals import harmonic_tone, snr_db

from assistant.audio_models.inpaint import inpaint
from assistant.errors import EarshotError
from tests.conftest import add_input

pytestmark = pytest.mark.integration

SR = 44_100


def _gap(x: np.ndarray, start_s: float, length_s: float) -> tuple[np.ndarray, int, int]:
    a = int(round(start_s * SR))
    b = a + int(round(length_s * SR))
    damaged = x.copy()
    damaged[a:b] = 0
    return damaged, a, b


# (vibrato in cents, gap, method, SNR the filled region must reach). A zeroed gap scores 0 dB.
CASES = [
    (0, 0.02, "interpolate", 30.0),  # a steady tone: LPC prediction is near exact
    (30, 0.02, "interpolate", 15.0),  # a 5 Hz, ±30 cent vibrato: the model must follow the pitch
    (0, 0.5, "patch", 30.0),
    (30, 0.5, "patch", 30.0),  # half a second: a similar passage, not a prediction
    (30, 0.5, "auto", 30.0),
]


@pytest.mark.parametrize("vibrato, gap_s, method, min_snr", CASES)
def test_filled_gap_is_close_to_the_original(vibrato, gap_s, method, min_snr):
    x = harmonic_tone(220, 4.0, SR, vibrato_cents=vibrato).astype(np.float32)
    damaged, a, b = _gap(x, 2.0, gap_s)
    assert snr_db(x[a:b], damaged[a:b]) == pytest.approx(0.0, abs=1e-9)
    out, used, _ = inpaint(damaged[:, None], SR, a / SR, b / SR, method)
    filled = snr_db(x[a:b].astype(np.float64), out[a:b, 0].astype(np.float64))
    print(f"MEASURED inpaint vibrato={vibrato} gap={gap_s}s {method}->{used}: {filled:.1f} dB (gap 0 dB)")
    assert filled >= min_snr
    assert used == ("patch" if method == "auto" else method)
    assert np.array_equal(out[:a, 0], damaged[:a]) and np.array_equal(out[b:, 0], damaged[b:])


def test_click_is_removed():
    x = harmonic_tone(330, 2.0, SR, vibrato_cents=10).astype(np.float32)
    clicked = x.copy()
    c = int(1.0 * SR)
    clicked[c : c + 40] += (
        np.hanning(40).astype(np.float32) * 0.9 * np.sign(np.random.default_rng(0).standard_normal(40))
    )
    a, b = c - 20, c + 60
    out, _, _ = inpaint(clicked[:, None], SR, a / SR, b / SR, "interpolate")
    before = snr_db(x[a:b].astype(np.float64), clicked[a:b].astype(np.float64))
    after = snr_db(x[a:b].astype(np.float64), out[a:b, 0].astype(np.float64))
    print(f"MEASURED click: region SNR {before:.1f} dB -> {after:.1f} dB")
    assert after >= 20 and after > before + 20


def test_tool_changes_only_the_region_bit_exactly(run_tool, session):
    x = harmonic_tone(196, 3.0, SR, vibrato_cents=20)
    stereo = np.stack([x, 0.5 * x], axis=1).astype(np.float32)
    damaged = stereo.copy()
    a, b = int(1.2 * SR), int(1.5 * SR)
    damaged[a:b] = 0
    add_input(session, damaged, SR, name="dropout.wav")
    result = run_tool("inpaint", file="dropout.wav", start_s=1.2, end_s=1.5)
    y, rate = sf.read(result.artifacts[0].path, dtype="float32")
    assert rate == SR and y.shape == damaged.shape
    assert np.array_equal(y[:a], damaged[:a]) and np.array_equal(y[b:], damaged[b:])
    assert snr_db(stereo[a:b].astype(np.float64), y[a:b].astype(np.float64)) >= 25
    assert "signal processing" in result.summary


def test_regions_outside_the_file_are_refused(run_tool, session):
    add_input(session, np.zeros(SR, np.float32), SR, name="short.wav")
    with pytest.raises(EarshotError, match="not inside the file"):
        run_tool("inpaint", file="short.wav", start_s=0.5, end_s=1.5)
    with pytest.raises(EarshotError, match="whole file"):
        run_tool("inpaint", file="short.wav", start_s=0.0, end_s=1.0)
