"""describe: each reported fact checked against a signal whose answer is known."""

import json

import numpy as np
import pyloudnorm
import pytest

from tests.conftest import add_input

pytestmark = pytest.mark.integration


def click_track(bpm: float, seconds: float, rate: int = 22050) -> np.ndarray:
    x = np.zeros(int(seconds * rate), np.float32)
    period = int(round(60.0 / bpm * rate))
    click = (np.exp(-np.arange(400) / 60.0) * np.sin(2 * np.pi * 1500 * np.arange(400) / rate)).astype(np.float32)
    for start in range(0, len(x) - 400, period):
        x[start : start + 400] += 0.8 * click
    return x


def facts(result):
    return json.loads(result.artifacts[0].path.read_text())


def test_loudness_peak_duration_and_rate(run_tool, session):
    rate = 48000
    x = (0.25 * np.sin(2 * np.pi * 997 * np.arange(rate * 4) / rate)).astype(np.float32)
    stereo = np.stack([x, 0.5 * x], axis=1)
    add_input(session, stereo, rate, "st.wav")
    f = facts(run_tool("describe", file="st.wav"))
    assert f["duration_s"] == pytest.approx(4.0, abs=1e-3)
    assert f["sample_rate_hz"] == rate and f["channels"] == 2
    assert f["integrated_lufs"] == pytest.approx(pyloudnorm.Meter(rate).integrated_loudness(stereo), abs=0.05)
    assert f["sample_peak_dbfs"] == pytest.approx(20 * np.log10(0.25), abs=0.05)
    assert f["true_peak_dbtp"] >= f["sample_peak_dbfs"] - 1e-6


def test_share_of_silence(run_tool, session):
    rate = 16000
    x = np.zeros(rate * 4, np.float32)
    x[:rate] = 0.3 * np.sin(2 * np.pi * 300 * np.arange(rate) / rate)  # 1 s of sound, 3 s of silence
    add_input(session, x, rate, "gap.wav")
    assert facts(run_tool("describe", file="gap.wav"))["silence_share"] == pytest.approx(0.75, abs=0.02)


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_tempo_of_a_click_track(run_tool, session, bpm):
    add_input(session, click_track(bpm, 12.0), 22050, f"click{int(bpm)}.wav")
    f = facts(run_tool("describe", file=f"click{int(bpm)}.wav"))
    assert f["tempo_bpm"] is not None and abs(f["tempo_bpm"] - bpm) / bpm <= 0.02, f


def test_noise_has_no_tempo(run_tool, session):
    add_input(session, 0.1 * np.random.default_rng(0).standard_normal(22050 * 8).astype(np.float32), 22050, "n.wav")
    assert facts(run_tool("describe", file="n.wav"))["tempo_bpm"] is None
