"""The barge-in side channel's linear filter (audio/linear_echo.py) while nothing plays: the short cut it takes
then must give exactly what the full block gives, before, during and after the silence."""

import numpy as np

from assistant.audio.linear_echo import BLOCK, LinearEcho


class _AlwaysFull(LinearEcho):
    """The same filter without the short cut: every block through the full path."""

    def process(self, mic, reference):
        self._silent_blocks = -(10**9)
        return super().process(mic, reference)


def _blocks(seed: int = 0):
    """(microphone, reference) blocks: a reply echoed through a short path, silence longer than the filter
    reaches (the microphone still hears a room), then the reply again."""
    rng = np.random.default_rng(seed)
    path = np.concatenate([np.zeros(40), rng.standard_normal(200) * np.exp(-np.arange(200) / 40)]) * 0.3
    reference = rng.standard_normal(BLOCK * 700).astype(np.float32) * 0.1
    reference[BLOCK * 300 : BLOCK * 420] = 0.0
    echo = np.convolve(reference, path)[: len(reference)]
    mic = (echo + rng.standard_normal(len(echo)) * 1e-3).astype(np.float32)
    return [(mic[i : i + BLOCK], reference[i : i + BLOCK]) for i in range(0, len(mic), BLOCK)]


def test_silence_gives_the_full_path_output_and_state():
    short, full = LinearEcho(), _AlwaysFull()
    assert 120 > short.partitions + 1  # the silence is long enough for the short cut to be taken
    for mic, ref in _blocks():
        assert np.array_equal(short.process(mic, ref), full.process(mic, ref))
        assert (short._e_fg, short._e_bg) == (full._e_fg, full._e_bg)
    np.testing.assert_array_equal(short._fg, full._fg)
    np.testing.assert_array_equal(short._bg, full._bg)
    assert (short._e_fg, short._e_bg) == (full._e_fg, full._e_bg)
    assert short.trusted() == full.trusted()


def test_while_nothing_plays_the_residual_is_the_microphone():
    echo = LinearEcho()
    blocks = _blocks(1)
    reach = 300 + echo.partitions + 2  # the first silent block beyond the filter's reach
    for mic, ref in blocks[:reach]:
        echo.process(mic, ref)
    for mic, ref in blocks[reach:420]:
        assert np.array_equal(echo.process(mic, ref), mic)
