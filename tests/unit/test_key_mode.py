"""tag.estimate_key: the mode comes from the tonic's third; a line of roots alone names only the tonic."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio_models.tag import RATE_HZ, estimate_key


def _notes(chords: list[list[float]], harmonics: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
    out = []
    for chord in chords:
        tone = sum(np.sin(2 * np.pi * f * k * t) / k**1.5 for f in chord for k in range(1, harmonics + 1)) * np.exp(
            -1.5 * t
        )
        out.append(tone)
    y = np.concatenate(out * 2)
    return (0.3 * y / np.max(np.abs(y))).astype(np.float32)


A2, D3, E3 = 110.0, 146.83, 164.81


def test_a_bass_line_of_roots_names_the_tonic_not_the_mode():
    tonic, mode, corr, _ = estimate_key(_notes([[A2], [D3], [E3], [A2]], harmonics=6))
    assert (tonic, mode) == ("A", None) and corr >= 0.3


@pytest.mark.parametrize("third, mode", [(277.18, "major"), (261.63, "minor")])
def test_chords_with_their_third_name_the_mode(third, mode):
    a = [220.0, third, 329.63]  # A, C# or C, E
    d = [293.66, 369.99 if mode == "major" else 349.23, 440.0]
    e = [329.63, 415.30 if mode == "major" else 392.0, 493.88]
    tonic, found, _, _ = estimate_key(_notes([a, d, e, a], harmonics=3))
    assert (tonic, found) == ("A", mode)
