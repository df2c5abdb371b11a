"""The block-spectra delay line shared by the side channel's filter and the bench's room (audio/spectra_line.py)."""

import numpy as np
import pytest

from assistant.audio.spectra_line import SpectraLine


def test_spectra_are_the_last_block_pairs_newest_first_across_many_wraps():
    rng = np.random.default_rng(0)
    line = SpectraLine(partitions=4, block=8)
    blocks = [rng.standard_normal(8) for _ in range(11)]  # wraps the ring almost three times
    for b in blocks:
        line.push(b)
    pairs = [np.concatenate([blocks[i - 1], blocks[i]]) for i in range(len(blocks) - 1, len(blocks) - 5, -1)]
    np.testing.assert_allclose(line.spectra, np.fft.rfft(pairs, axis=1), atol=1e-12)
    assert line.spectra.base is not None  # a view into the line, not a copy made per block


def test_filter_is_the_linear_convolution_of_the_stream():
    rng = np.random.default_rng(1)
    block, parts = 16, 3
    h = rng.standard_normal(parts * block - 5)
    padded = np.zeros(parts * block)
    padded[: len(h)] = h
    response = np.fft.rfft(padded.reshape(parts, block), 2 * block, axis=1)
    x = rng.standard_normal(20 * block)
    line = SpectraLine(parts, block)
    out = []
    for i in range(0, len(x), block):
        line.push(x[i : i + block])
        out.append(line.filter(response))
    np.testing.assert_allclose(np.concatenate(out), np.convolve(x, h)[: len(x)], atol=1e-9)


def test_a_block_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="blocks of 8 samples, got 7"):
        SpectraLine(2, 8).push(np.zeros(7))
