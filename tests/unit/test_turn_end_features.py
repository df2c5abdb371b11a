"""Smart Turn's input features (runtime/turn_end.py) against an independent reference: librosa's STFT and
Slaney mel filterbank, computed the way Hugging Face's WhisperFeatureExtractor (chunk_length=8) defines them."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.runtime.turn_end import FRAMES, N_MELS, WINDOW_SAMPLES, log_mel_features

RATE = 16_000


def reference(audio: np.ndarray) -> np.ndarray:
    """The model's expected input, from librosa: last 8 s, zero-padded at the start, z-normalised, periodic
    Hann STFT (400, hop 160, centred, reflect), power, Slaney mel, log10, last frame dropped, max−8 clamp,
    (x + 4) / 4."""
    import librosa

    x = np.asarray(audio, np.float32)[-WINDOW_SAMPLES:]
    x = np.concatenate([np.zeros(WINDOW_SAMPLES - len(x), np.float32), x])
    x = (x - x.mean()) / np.sqrt(x.var() + 1e-7)
    power = np.abs(librosa.stft(x.astype(np.float64), n_fft=400, hop_length=160, window="hann", pad_mode="reflect"))
    mel = librosa.filters.mel(sr=RATE, n_fft=400, n_mels=80, fmin=0.0, fmax=8000.0, htk=False, norm="slaney")
    log_spec = np.log10(np.maximum(1e-10, mel.astype(np.float64) @ power**2))[:, :-1]
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def speechlike(seconds: float, seed: int = 0) -> np.ndarray:
    """Voiced harmonics under a syllable-rate envelope, with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voiced = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) ** 2
    return (0.2 * voiced * envelope + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.mark.parametrize("seconds", [0.3, 2.5, 8.0, 11.0])
def test_features_match_the_reference(seconds):
    audio = speechlike(seconds)
    mine = log_mel_features(audio)
    assert mine.shape == (N_MELS, FRAMES) == (80, 800) and mine.dtype == np.float32
    assert np.max(np.abs(mine - reference(audio))) < 1e-4


def test_only_the_last_8_s_count_and_short_audio_is_padded_at_the_start():
    audio = speechlike(11.0, seed=1)
    np.testing.assert_array_equal(log_mel_features(audio), log_mel_features(audio[-WINDOW_SAMPLES:]))
    short = speechlike(1.5, seed=2)
    padded = np.concatenate([np.zeros(WINDOW_SAMPLES - len(short), np.float32), short])
    np.testing.assert_array_equal(log_mel_features(short), log_mel_features(padded))
    # The speech sits at the end of the window: its last frames are loud, the padded start is at the floor.
    features = log_mel_features(short)
    assert features[:, -50:].mean() > features[:, :500].mean() + 0.5


def test_features_do_not_depend_on_the_input_level_and_span_the_clamped_range():
    audio = speechlike(3.0, seed=3)
    quiet, loud = log_mel_features(audio * 0.25), log_mel_features(audio * 0.9)
    assert np.max(np.abs(quiet - loud)) < 1e-3  # the waveform is normalised before anything else
    assert loud.max() - loud.min() == pytest.approx(2.0, abs=1e-5)  # 8 decades of log10, divided by 4
