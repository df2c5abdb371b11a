"""binaural: measured interaural time and level differences have the right sign and size for the
direction. ITD by cross-correlation (3–12 kHz, where the head-shadow filter adds no phase delay) is
compared with Woodworth's formula; at low frequencies a real head's ITD is up to 1.5× larger (Kuhn
1977), and the model must show that too. ILD in the 4–8 kHz band must favour the near ear by
roughly 10–20 dB at the side (Feddersen et al. 1957) and stay small below 500 Hz."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy import signal
from synth_signals import gcc_itd_s, woodworth_itd_s

from assistant.audio_models.binaural import spatialise
from tests.conftest import add_input

pytestmark = pytest.mark.integration

SR = 48_000
NOISE = np.random.default_rng(0).standard_normal(SR) * 0.1


def _band(x, lo, hi):
    return signal.sosfilt(signal.butter(4, [lo, hi], "bandpass", fs=SR, output="sos"), x)


def itd_us(y, lo=3000, hi=12000):
    return 1e6 * gcc_itd_s(_band(y[:, 0], lo, hi), _band(y[:, 1], lo, hi), SR)


def ild_db(y, lo, hi):
    return 10 * np.log10(np.mean(_band(y[:, 1], lo, hi) ** 2) / np.mean(_band(y[:, 0], lo, hi) ** 2))


@pytest.mark.parametrize("azimuth", [0, 15, 30, 45, 60, 90, -30, -90])
def test_itd_follows_woodworth(azimuth):
    y = spatialise(NOISE, SR, azimuth)
    measured, expected = itd_us(y), 1e6 * woodworth_itd_s(azimuth)
    print(
        f"MEASURED az {azimuth:+d}: ITD {measured:.0f} us (Woodworth {expected:.0f}); low-band "
        f"{itd_us(y, 50, 500):.0f} us; ILD 4-8k {ild_db(y, 4000, 8000):+.1f} dB, <500 Hz {ild_db(y, 100, 500):+.1f} dB"
    )
    assert measured == pytest.approx(expected, abs=30)
    assert np.sign(round(measured)) == np.sign(azimuth)


@pytest.mark.parametrize("azimuth", [30, 60, 90])
def test_low_frequency_itd_is_larger_as_on_a_real_head(azimuth):
    y = spatialise(NOISE, SR, azimuth)
    ratio = itd_us(y, 50, 500) / itd_us(y)
    assert 1.1 <= ratio <= 1.6


@pytest.mark.parametrize("azimuth", [30, 45, 60, 90, 120, -45, -90])
def test_ild_favours_the_near_ear_at_high_frequencies(azimuth):
    y = spatialise(NOISE, SR, azimuth)
    high, low = ild_db(y, 4000, 8000), ild_db(y, 100, 500)
    assert np.sign(high) == np.sign(azimuth)
    assert (8 if abs(azimuth) >= 45 else 5) <= abs(high) <= 20
    assert abs(low) < 2.0


def test_straight_ahead_is_centred():
    y = spatialise(NOISE, SR, 0)
    assert abs(itd_us(y)) < 5 and abs(ild_db(y, 4000, 8000)) < 0.1


def test_elevation_shrinks_the_lateral_cues():
    """A source at 90° right but 60° up is 30° off the median plane: ITD as Woodworth at 30°."""
    y = spatialise(NOISE, SR, 90, 60)
    assert itd_us(y) == pytest.approx(1e6 * woodworth_itd_s(30), abs=30)
    assert itd_us(y) < itd_us(spatialise(NOISE, SR, 90, 0)) - 250


def test_moving_source_sweeps_from_left_to_right():
    x = np.random.default_rng(1).standard_normal(4 * SR) * 0.1
    y = spatialise(x, SR, -90, 0, end_azimuth_deg=90)
    windows = [y[i : i + SR // 4] for i in range(0, len(y), SR // 4)]
    # broadband (200 Hz–12 kHz) ITD: within a quarter second the delay changes, and a narrow high
    # band's correlation would have several near-equal peaks
    itds = [itd_us(w, 200, 12000) for w in windows]
    ilds = [ild_db(w, 4000, 8000) for w in windows]
    print("MEASURED moving ITDs (us):", [round(v) for v in itds])
    assert itds[0] < -450 and itds[-1] > 450
    assert all(b > a for a, b in zip(itds, itds[1:]))  # moves one way only
    assert ilds[0] < -8 and ilds[-1] > 8


def test_tool_writes_binaural_stereo(run_tool, session):
    add_input(session, NOISE.astype(np.float32), SR, name="bell.wav")
    result = run_tool("binaural", file="bell.wav", azimuth_deg=-60)
    y, rate = sf.read(result.artifacts[0].path)
    assert rate == SR and y.shape == (SR, 2)
    assert itd_us(y) == pytest.approx(1e6 * woodworth_itd_s(-60), abs=30)
    assert "left" in result.summary and "signal processing" in result.summary


def test_an_end_equal_to_the_start_is_a_fixed_place(run_tool, session):
    """A plan that fills every field (end = start) places the sound; the reply must not call it a move."""
    add_input(session, NOISE.astype(np.float32), SR, name="bell.wav")
    result = run_tool(
        "binaural", file="bell.wav", azimuth_deg=-90, elevation_deg=0, end_azimuth_deg=-90, end_elevation_deg=0
    )
    y, _ = sf.read(result.artifacts[0].path)
    assert result.data["moving"] is False and "moving" not in result.summary and "at -90° (left)" in result.summary
    assert itd_us(y) == pytest.approx(1e6 * woodworth_itd_s(-90), abs=30)
