"""The bench rig's simulated room (bench/voice_rig.py `RoomFilter`): the same echo as a direct-form filter."""

import numpy as np
import pytest
from scipy.signal import lfilter

from assistant.bench.aec_bench import room_impulse_response
from assistant.bench.voice_rig import RoomFilter


def test_blocks_give_the_direct_form_output_carried_across_blocks():
    h = room_impulse_response(20, 0.3, seed=3)
    x = np.random.default_rng(0).standard_normal(160 * 120)  # 1.2 s: longer than the room's 0.38 s response
    room = RoomFilter(h, 160)
    y = np.concatenate([room(x[i : i + 160]) for i in range(0, len(x), 160)])
    expected = lfilter(np.asarray(h, np.float64), [1.0], x)
    assert np.max(np.abs(y - expected)) < 1e-9 * np.max(np.abs(expected))


def test_an_impulse_comes_out_as_the_response_delayed():
    h = room_impulse_response(20, 0.1, seed=1)
    room = RoomFilter(h, 160)
    x = np.zeros(160 * 20)
    x[170] = 1.0  # in the second block
    y = np.concatenate([room(x[i : i + 160]) for i in range(0, len(x), 160)])
    np.testing.assert_allclose(y[170 : 170 + len(h)], h, atol=1e-12)
    assert np.max(np.abs(y[:170])) < 1e-12


def test_a_block_of_another_size_is_refused():
    room = RoomFilter(np.ones(10), 160)
    with pytest.raises(ValueError, match="blocks of 160"):
        room(np.zeros(100))
