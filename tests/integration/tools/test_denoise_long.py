"""Issue 16, item 5: denoise streams a long file block by block (memory bounded by a few blocks) and
gives the same result as the in-memory path."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from assistant.audio_models import denoise
from tests.conftest import require_models

pytestmark = pytest.mark.integration


def test_a_long_file_is_denoised_block_by_block_with_the_same_result(session, run_tool, monkeypatch):
    require_models("deepfilternet3")
    rate = 48_000
    t = np.arange(8 * rate) / rate
    rng = np.random.default_rng(4)
    voice = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    x = np.stack([voice + 0.05 * rng.standard_normal(len(t)), voice + 0.05 * rng.standard_normal(len(t))], axis=1)
    sf.write(str(session.workspace / "take.wav"), x.astype(np.float32), rate, subtype="FLOAT")
    whole = run_tool("denoise", file="take.wav").artifacts[0]
    monkeypatch.setattr(denoise, "STREAM_ABOVE_BYTES", 100_000)  # this 8 s file is now "long"
    reports = []
    from assistant.audio_models.base import ToolContext

    monkeypatch.setattr(ToolContext, "progress", lambda self, f, m="": reports.append(f))
    streamed = run_tool("denoise", file="take.wav").artifacts[0]
    a, _ = sf.read(str(whole.path), dtype="float32")
    b, _ = sf.read(str(streamed.path), dtype="float32")
    assert a.shape == b.shape == x.shape
    assert np.max(np.abs(a - b)) < 1e-5
    assert len(reports) >= 8 and streamed.duration_s == pytest.approx(8.0)
