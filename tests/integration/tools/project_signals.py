"""Signals and an independent reference mixer for the project tests.

`reference_mix` recomputes a mixdown from the documented conventions (assistant/project/mixdown.py
docstring) with plain per-clip loops, sharing no code with the renderer, so a test comparing the two
can fail."""

from __future__ import annotations

import math

import numpy as np
import soundfile as sf


def write(path, audio: np.ndarray, rate: int) -> None:
    sf.write(path, audio.astype(np.float32), rate, subtype="FLOAT")


def noise(seconds: float, rate: int, channels: int, seed: int, level: float = 0.05) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((int(seconds * rate), channels)).astype(np.float32) * level
    return x[:, 0] if channels == 1 else x


def drum_loop(rate: int, bpm: float, bars: int, seed: int = 0) -> np.ndarray:
    """Kick on every beat, hi-hat noise on the off-beats, a bright tonal stab on beat 1: a loop whose
    tempo, brightness and decay can be measured."""
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    n = int(round(bars * 4 * beat * rate))
    out = np.zeros(n, np.float32)
    t = np.arange(int(0.25 * rate)) / rate
    kick = (0.9 * np.sin(2 * np.pi * (55 + 90 * np.exp(-t * 30)) * t) * np.exp(-t * 18)).astype(np.float32)
    hat = (rng.standard_normal(int(0.05 * rate)) * 0.25 * np.exp(-np.arange(int(0.05 * rate)) / rate * 80)).astype(
        np.float32
    )
    stab = (0.2 * sum(np.sin(2 * np.pi * f * t) for f in (880, 1760, 3520)) * np.exp(-t * 12)).astype(np.float32)
    for k in range(bars * 4):
        at = int(round(k * beat * rate))
        out[at : at + len(kick)] += kick[: n - at]
        off = int(round((k + 0.5) * beat * rate))
        if off < n:
            out[off : off + len(hat)] += hat[: n - off]
        if k % 4 == 0:
            out[at : at + len(stab)] += stab[: n - at]
    return out


# -- the reference mixer ---------------------------------------------------------------------------
def _seconds(s, value, unit):
    return value if unit == "seconds" else value * 60.0 / s["tempo_bpm"]


def reference_mix(s: dict, files: dict[str, np.ndarray], rate: int, limiter: bool = False) -> np.ndarray:
    """Audio clips only (unwarped), no effects: the sum the renderer must reproduce."""
    tracks = list(s["tracks"].values())
    soloed = any(t["solo"] for t in tracks)
    ends = []
    for c in s["clips"].values():
        ends.append(int(round((_seconds(s, c["start"], c["unit"]) + _seconds(s, c["length"], c["unit"])) * rate)))
    out = np.zeros((max(ends) + 10, 2), np.float64)
    for c in s["clips"].values():
        t = s["tracks"][c["track"]]
        if t["mute"] or (soloed and not t["solo"]):
            continue
        src = files[c["source"]["path"]].astype(np.float64)
        if src.ndim == 1:
            src = np.stack([src, src], axis=1)
        start_s = _seconds(s, c["start"], c["unit"])
        first = int(round(start_s * rate))
        last = int(round((start_s + _seconds(s, c["length"], c["unit"])) * rate))
        n = last - first
        off = int(round(c["offset"] * rate))
        loop = c.get("loop")
        a, b = (int(round(loop[0] * rate)), int(round(loop[1] * rate))) if loop else (None, None)
        fi, fo = int(round(c["fade_in_s"] * rate)), int(round(c["fade_out_s"] * rate))
        g = 10 ** (c["gain_db"] / 20) * 10 ** (t["gain_db"] / 20)
        pan = t["pan"]
        left = 1.0 if pan <= 0 else math.cos(pan * math.pi / 2)
        right = 1.0 if pan >= 0 else math.cos(-pan * math.pi / 2)
        for k in range(n):
            i = off + k
            if loop and i >= b:
                i = a + (i - a) % (b - a)
            if not 0 <= i < len(src):
                continue
            env = 1.0
            if fi and k < fi:
                env *= k / fi
            if fo and k >= n - fo:
                env *= (n - k) / fo
            out[first + k, 0] += src[i, 0] * env * g * left
            out[first + k, 1] += src[i, 1] * env * g * right
    return out.astype(np.float32)


def spectral_centroid_hz(audio: np.ndarray, rate: int) -> float:
    """Energy-weighted mean spectral centroid over the whole signal."""
    import librosa

    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    spec = np.abs(librosa.stft(mono, n_fft=2048, hop_length=512)) ** 2
    freqs = librosa.fft_frequencies(sr=rate, n_fft=2048)
    return float((spec * freqs[:, None]).sum() / spec.sum())


def tempo_bpm(audio: np.ndarray, rate: int, start_bpm: float = 110.0) -> float:
    import librosa

    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    onset = librosa.onset.onset_strength(y=mono, sr=rate, hop_length=256)
    tempo = librosa.feature.tempo(
        onset_envelope=onset, sr=rate, hop_length=256, start_bpm=start_bpm, aggregate=np.median
    )
    return float(tempo[0])


def tail_s(audio: np.ndarray, rate: int, song_end_s: float, floor_db: float = -60.0) -> float:
    """How long after the song's last clip ends the sound stays above `floor_db` relative to its peak
    (RMS in 10 ms frames)."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    frame = int(0.01 * rate)
    n = len(mono) // frame
    rms = np.sqrt(np.mean(mono[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-20)
    level = 20 * np.log10(rms / rms.max())
    loud = np.flatnonzero(level > floor_db)
    last = (loud[-1] + 1) * frame / rate if loud.size else 0.0
    return max(0.0, last - song_end_s)
