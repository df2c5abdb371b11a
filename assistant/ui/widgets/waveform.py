"""A waveform preview drawn with block characters: one column per time slice, bar height the peak."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.widget import Widget

if TYPE_CHECKING:  # numpy is imported when a waveform is first drawn, not before the UI's first frame
    import numpy as np

BLOCKS = " ▁▂▃▄▅▆▇█"
BINS = 512  # peaks are computed once at this resolution and resampled to the widget's width


def peaks(path: Path, bins: int = BINS) -> np.ndarray:
    """Per-slice peak (0..1) of a file, read block by block so a long file never sits in memory whole."""
    import numpy as np
    import soundfile as sf

    with sf.SoundFile(str(path)) as fh:
        if fh.frames <= 0:
            return np.zeros(0, dtype=np.float32)
        block = max(1, -(-fh.frames // bins))
        out = [
            float(np.abs(chunk).max()) if chunk.size else 0.0
            for chunk in fh.blocks(blocksize=block, dtype="float32", always_2d=True)
        ]
    return np.asarray(out, dtype=np.float32)


def render_bars(values: np.ndarray, width: int, height: int) -> list[str]:
    """Rows of block characters, top row first. Heights follow sqrt(peak) so quiet passages show."""
    import numpy as np

    if width <= 0 or height <= 0:
        return []
    if values.size == 0:
        return [" " * width] * height
    cols = np.interp(np.linspace(0, values.size - 1, width), np.arange(values.size), values)
    eighths = np.round(np.sqrt(np.clip(cols, 0, 1)) * height * 8).astype(int)
    rows = []
    for row in range(height - 1, -1, -1):
        level = np.clip(eighths - row * 8, 0, 8)
        rows.append("".join(BLOCKS[v] for v in level))
    return rows


class Waveform(Widget):
    """Draws `values` (0..1 peaks) to fit its size; an explanatory line when there is nothing to draw."""

    DEFAULT_CSS = "Waveform { height: 4; }"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.values: np.ndarray | None = None
        self.message = "select an audio file to see its waveform"

    def show(self, values: np.ndarray | None, message: str = "") -> None:
        self.values = values
        self.message = message
        self.refresh()

    def render(self) -> Text:
        width, height = self.content_size.width, self.content_size.height
        if self.values is None:
            return Text(self.message, style="dim")
        return Text("\n".join(render_bars(self.values, width, height)), style="waveform")
