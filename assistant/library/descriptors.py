"""The descriptor vector of a file, for "sounds like this" — signal processing, not a learned embedding.

No PyPI package ships learned audio-embedding weights that load offline (checked: openl3, panns-inference,
msclap/laion-clap, torchvggish and speechbrain download their weights at run time or at install from a
hub; musicnn needs TensorFlow 1.x). So a file is described by 66 numbers of well-known timbre and
harmony statistics, all from librosa at 22.05 kHz:

    0-39   MFCC 1-20, mean and standard deviation over frames (timbre)
    40-51  chroma (STFT), energy-weighted mean (harmony)
    52-61  spectral centroid, bandwidth, roll-off (log Hz), flatness, zero-crossing rate: mean and std
    62-64  RMS level in dB: mean, standard deviation, maximum (dynamics)
    65     log duration (a one-shot is not a loop)

Queries z-score each dimension over the whole library, then rank by cosine similarity.
"""

from __future__ import annotations

import numpy as np

RATE_HZ = 22_050
DIM = 66
_N_FFT = 2048
_HOP = 512


def descriptor_vector(mono: np.ndarray, rate: int) -> np.ndarray:
    """66 float32 descriptors of a mono signal at any rate."""
    import librosa

    from ..audio.files import resample

    y = resample(mono.astype(np.float32), rate, RATE_HZ) if rate != RATE_HZ else mono.astype(np.float32)
    if len(y) < _N_FFT:
        y = np.pad(y, (0, _N_FFT - len(y)))
    spec = np.abs(librosa.stft(y, n_fft=_N_FFT, hop_length=_HOP))
    power = spec**2
    mel = librosa.feature.melspectrogram(S=power, sr=RATE_HZ, n_mels=64)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel, top_db=80.0), n_mfcc=20)
    weights = power.sum(axis=0)
    chroma = librosa.feature.chroma_stft(S=power, sr=RATE_HZ)
    chroma_mean = chroma @ weights / max(float(weights.sum()), 1e-12)
    centroid = librosa.feature.spectral_centroid(S=spec, sr=RATE_HZ)[0]
    bandwidth = librosa.feature.spectral_bandwidth(S=spec, sr=RATE_HZ)[0]
    rolloff = librosa.feature.spectral_rolloff(S=spec, sr=RATE_HZ)[0]
    flatness = librosa.feature.spectral_flatness(S=spec)[0]
    zcr = librosa.feature.zero_crossing_rate(y, frame_length=_N_FFT, hop_length=_HOP)[0]
    rms_db = 20 * np.log10(librosa.feature.rms(S=spec, frame_length=_N_FFT)[0] + 1e-6)
    spectral = []
    for track in (np.log(centroid + 1.0), np.log(bandwidth + 1.0), np.log(rolloff + 1.0), flatness, zcr):
        spectral += [float(np.mean(track)), float(np.std(track))]
    vec = np.concatenate(
        [
            mfcc.mean(axis=1),
            mfcc.std(axis=1),
            chroma_mean,
            spectral,
            [float(np.mean(rms_db)), float(np.std(rms_db)), float(np.max(rms_db))],
            [float(np.log(len(mono) / rate + 1e-3))],
        ]
    )
    return np.nan_to_num(vec).astype(np.float32)


class Normalised:
    """A library's vectors z-scored per dimension and scaled to unit length, computed once per index
    version: a query is then one matrix-vector product."""

    def __init__(self, matrix: np.ndarray) -> None:
        self.size = len(matrix)
        if not self.size:
            self.mean = self.std = self.unit = np.zeros((0,), np.float32)
            return
        self.mean = matrix.mean(axis=0)
        self.std = matrix.std(axis=0) + 1e-6
        z = (matrix - self.mean) / self.std
        self.unit = (z / (np.linalg.norm(z, axis=1, keepdims=True) + 1e-9)).astype(np.float32)

    def similarities(self, target: np.ndarray) -> np.ndarray:
        t = (np.asarray(target, np.float32) - self.mean) / self.std
        return self.unit @ (t / (np.linalg.norm(t) + 1e-9)).astype(np.float32)


def nearest(matrix, target: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row indices, cosine similarities) of the k rows nearest `target`, best first, after z-scoring
    every dimension over the matrix (an array, or its `Normalised` form)."""
    norm = matrix if isinstance(matrix, Normalised) else Normalised(np.asarray(matrix, np.float32))
    if norm.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    sims = norm.similarities(target)
    k = min(k, len(sims))
    top = np.argpartition(-sims, k - 1)[:k]
    order = top[np.argsort(-sims[top], kind="stable")]
    return order, sims[order]
