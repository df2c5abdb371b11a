"""Pure logic behind the widgets: waveform peaks and bars, the level meter, completion."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from assistant.ui.widgets.listening import level_meter
from assistant.ui.widgets.prompt import RefSuggester
from assistant.ui.widgets.waveform import BLOCKS, peaks, render_bars

pytestmark = pytest.mark.anyio


def test_peaks_follow_the_signal_envelope(tmp_path):
    rate = 16000
    silence = np.zeros(rate, dtype=np.float32)
    loud = (0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)).astype(np.float32)
    path = tmp_path / "half.wav"
    sf.write(path, np.concatenate([silence, loud]), rate, subtype="FLOAT")
    values = peaks(path, bins=64)
    half = len(values) // 2
    assert values[: half - 1].max() == 0.0  # the silent first second draws nothing
    assert values[half + 1 :].min() == pytest.approx(0.5, abs=0.01)  # the tone's peak amplitude


def test_bars_are_as_tall_as_the_peak():
    rows = render_bars(np.array([0.0, 0.25, 1.0]), width=3, height=4)
    assert len(rows) == 4 and all(len(r) == 3 for r in rows)
    columns = ["".join(r[i] for r in rows) for i in range(3)]
    eighths = [sum(BLOCKS.index(c) for c in col) for col in columns]
    assert eighths == [0, 16, 32]  # sqrt scale: 0.25 → half of 4 rows × 8 eighths


def test_level_meter_spans_floor_to_full_scale():
    assert level_meter(-90.0, width=10) == "▯" * 10
    assert level_meter(0.0, width=10) == "▮" * 10
    assert level_meter(-30.0, width=10) == "▮" * 5 + "▯" * 5


async def test_suggester_completes_refs_files_and_commands():
    s = RefSuggester(lambda: ["@a3", "@a1", "@last", "@memo.wav"])
    assert await s.get_suggestion("denoise @a") == "denoise @a3"
    assert await s.get_suggestion("denoise @m") == "denoise @memo.wav"
    assert await s.get_suggestion("/he") == "/help"
    assert await s.get_suggestion("denoise memo") is None
