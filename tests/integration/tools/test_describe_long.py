"""Issue 16, item 5: a long input is measured in bounded memory, with progress. describe reads a file
that is long (over STREAM_ABOVE_BYTES as float32) block by block; its figures equal the in-memory
ones, and its memory does not grow with the file."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from assistant.audio_models import describe

pytestmark = pytest.mark.integration


def _music(path, seconds: float, rate: int = 44_100) -> None:
    """A 120 BPM click over a tone and noise, stereo, with a quiet start (for the loudness gate)."""
    t = np.arange(int(seconds * rate)) / rate
    click = (np.mod(t, 0.5) < 0.02) * np.sin(2 * np.pi * 1000 * t) * np.exp(-np.mod(t, 0.5) / 0.005)
    rng = np.random.default_rng(1)
    x = 0.15 * np.sin(2 * np.pi * 220 * t) + 0.5 * click + 0.01 * rng.standard_normal(len(t))
    x[: 3 * rate] *= 1e-4
    sf.write(str(path), np.stack([x, 0.7 * x], axis=1).astype(np.float32), rate, subtype="FLOAT")


def test_streamed_measurements_equal_the_in_memory_ones(session, run_tool, monkeypatch):
    _music(session.workspace / "song.wav", 75.0)
    whole = run_tool("describe", file="song.wav").data
    monkeypatch.setattr(describe, "STREAM_ABOVE_BYTES", 1_000_000)  # this 75 s file is now "long"
    reports = []
    from assistant.audio_models.base import ToolContext

    monkeypatch.setattr(ToolContext, "progress", lambda self, f, m="": reports.append(f))
    streamed = run_tool("describe", file="song.wav").data
    assert streamed["integrated_lufs"] == pytest.approx(whole["integrated_lufs"], abs=0.011)
    assert streamed["true_peak_dbtp"] == pytest.approx(whole["true_peak_dbtp"], abs=0.011)
    assert streamed["sample_peak_dbfs"] == pytest.approx(whole["sample_peak_dbfs"], abs=0.011)
    assert streamed["silence_share"] == pytest.approx(whole["silence_share"], abs=0.002)
    assert whole["tempo_bpm"] == pytest.approx(120.0, abs=0.5)
    assert streamed["tempo_bpm"] == pytest.approx(whole["tempo_bpm"], abs=0.2)
    assert len(reports) >= 7 and reports == sorted(reports)  # a report per 10 s block


CHILD = r"""
import json, resource, sys
from assistant.audio_models.describe import measure_streaming
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
import librosa, pyloudnorm, scipy.signal, soxr  # imported before the measurement: their memory is not the file's
librosa.feature.melspectrogram(y=__import__("numpy").zeros(8192, "float32"), sr=22050)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
facts = measure_streaming(sys.argv[1])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_mb": (peak - base) / 1024, "facts": facts}, default=float))
"""


def test_a_long_file_is_measured_in_bounded_memory(tmp_path):
    """Ten minutes of 44.1 kHz stereo is 212 MB as float32; measuring it in memory grew the process by
    1.1 GB (measured 2026-12-05); streamed, by the block, the onset envelope and the tempo windows."""
    path = tmp_path / "ten-minutes.wav"
    rate, seconds = 44_100, 600
    with sf.SoundFile(str(path), "w", rate, 2, subtype="PCM_16") as f:
        for start in range(0, seconds, 30):
            t = start + np.arange(30 * rate) / rate
            x = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.4 * (np.mod(t, 0.5) < 0.01)
            f.write(np.stack([x, x], axis=1).astype(np.float32))
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    decoded_mb = seconds * rate * 2 * 4 / 1e6
    assert result["facts"]["tempo_bpm"] == pytest.approx(120.0, abs=0.5)
    assert result["growth_mb"] < min(200.0, decoded_mb), result
