"""A delay line of block spectra for uniformly partitioned overlap-save filtering.

Both the barge-in side channel's adaptive filter (`linear_echo.py`) and the latency bench's simulated room
(`bench/voice_rig.py`) convolve a stream of equal blocks with a long response cut into block-long
partitions: each needs the spectra of its last input block pairs, newest first, and the product of those with
the partitions' spectra summed back into one block of output. This is that shared piece.
"""

from __future__ import annotations

import numpy as np


class SpectraLine:
    """The spectra of the last `partitions` block pairs (the previous block and this one, 2·`block` points),
    newest first. Each spectrum is written twice so that the newest-first run is always one contiguous
    slice (`spectra`, a view): pushing a block copies one spectrum, not the whole line."""

    def __init__(self, partitions: int, block: int) -> None:
        self.partitions, self.block = partitions, block
        self._line = np.zeros((2 * partitions, block + 1), np.complex128)
        self._newest = 0
        self._prev = np.zeros(block)

    def push(self, x: np.ndarray) -> None:
        """Take the next input block (`block` samples)."""
        x = np.asarray(x, np.float64)
        if len(x) != self.block:
            raise ValueError(f"the line takes blocks of {self.block} samples, got {len(x)}")
        self._newest = (self._newest - 1) % self.partitions
        spectrum = np.fft.rfft(np.concatenate([self._prev, x]))
        self._line[self._newest] = self._line[self._newest + self.partitions] = spectrum
        self._prev = x

    @property
    def spectra(self) -> np.ndarray:
        """(partitions, block + 1): the newest block pair's spectrum first. A view: do not write to it."""
        return self._line[self._newest : self._newest + self.partitions]

    def filter(self, response: np.ndarray) -> np.ndarray:
        """The latest output block of the input convolved with the response whose partitions' spectra (each
        zero-padded to 2·`block` points) are `response` (partitions, block + 1): overlap-save keeps the second
        half, where the circular convolution equals the linear one."""
        return np.fft.irfft(np.einsum("kb,kb->b", response, self.spectra), 2 * self.block)[self.block :]
