"""tag's analysis HPSS: the parts of a sustained chord stay the size of the signal to its last sample."""

from __future__ import annotations

import numpy as np

from assistant.audio_models.tag import RATE_HZ, _analysis_hpss


def test_a_sustained_chord_is_harmonic_to_its_last_sample():
    # A length whose last samples lie under one window's tail (an organ loop of 12 beats at 114 BPM had
    # it): the inverse STFT divided by that tail, and the chord measured "430 % percussive" — drums.
    t = np.arange(139_263) / RATE_HZ
    y = sum(
        0.2 * np.sin(2 * np.pi * f * t) * (1 + 0.3 * np.sin(np.pi * t + k))
        for k, f in enumerate((220.0, 277.18, 329.63))
    )
    y = y.astype(np.float32)
    harmonic, percussive = _analysis_hpss(y)
    peak = float(np.abs(y).max())
    assert float(np.abs(harmonic).max()) <= 1.1 * peak and float(np.abs(percussive).max()) <= 1.1 * peak
    assert float(np.sum(percussive**2) / np.sum(y**2)) < 0.05
