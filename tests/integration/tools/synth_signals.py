"""Signal helpers for the synthesis and effects tools' tests (generate_sound, effects, convert_voice,
binaural, inpaint): test signals and the measurements the tests assert on. numpy/scipy only, so a
measurement never shares code with the tool it checks."""

from __future__ import annotations

import numpy as np
from scipy import signal


# -- test signals ---------------------------------------------------------------------------------
def harmonic_tone(
    f0_hz: float, duration_s: float, sr: int, harmonics: int = 8, vibrato_cents: float = 0.0, seed: int = 0
) -> np.ndarray:
    """A steady harmonic tone (partials 1/k), optionally with a 5 Hz vibrato, float64 mono, peak ~0.5."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration_s * sr)) / sr
    f = f0_hz * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f) / sr
    x = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, harmonics + 1) if k * f0_hz < 0.45 * sr)
    return 0.5 * x / np.max(np.abs(x))


def pink_noise(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec))
    spec[1:] /= np.sqrt(f[1:])
    x = np.fft.irfft(spec, n)
    return x / np.std(x)


# -- measurements ---------------------------------------------------------------------------------
def db(x: float) -> float:
    return float(10 * np.log10(max(x, 1e-30)))


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Plain (not scale-invariant) SNR of an estimate against a reference of the same length."""
    err = np.sum((reference - estimate) ** 2)
    return db(np.sum(reference**2) / max(err, 1e-30))


def rms_db(x: np.ndarray) -> float:
    return db(np.mean(np.square(x)))


def crest_factor_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.max(np.abs(x)) / (np.sqrt(np.mean(x**2)) + 1e-20)))


def true_peak_dbfs(x: np.ndarray, oversample: int = 4) -> float:
    """Peak of the 4× oversampled signal (ITU-R BS.1770 style inter-sample peak)."""
    x = np.atleast_2d(x.T).T if x.ndim == 1 else x
    up = signal.resample_poly(x, oversample, 1, axis=0)
    return float(20 * np.log10(np.max(np.abs(up)) + 1e-20))


def spectral_frames(x: np.ndarray, sr: int, nperseg: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Power spectrogram of a mono signal: (freqs, times, power[f, t])."""
    f, t, z = signal.stft(x, fs=sr, nperseg=nperseg, noverlap=nperseg // 2, boundary=None)
    return f, t, np.abs(z) ** 2


def active_mask(power: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    energy = power.sum(axis=0)
    return energy > energy.max() * 10 ** (-floor_db / 10)


def spectral_centroid_hz(x: np.ndarray, sr: int) -> float:
    """Energy-weighted mean of per-frame spectral centroids over the active frames."""
    f, _, p = spectral_frames(x, sr)
    mask = active_mask(p)
    cent = (f[:, None] * p).sum(axis=0) / (p.sum(axis=0) + 1e-30)
    w = p.sum(axis=0)[mask]
    return float(np.sum(cent[mask] * w) / np.sum(w))


def spectral_flatness(x: np.ndarray, sr: int, lo_hz: float = 50.0, hi_hz: float = 16000.0) -> float:
    """Median over active frames of geometric/arithmetic mean of the power spectrum in [lo, hi]:
    near 1 for white noise in that band, near 0 for a few partials."""
    f, _, p = spectral_frames(x, sr)
    band = (f >= lo_hz) & (f <= min(hi_hz, sr / 2))
    p = p[band][:, active_mask(p)] + 1e-20
    flat = np.exp(np.mean(np.log(p), axis=0)) / np.mean(p, axis=0)
    return float(np.median(flat))


def band_energy_fraction(x: np.ndarray, sr: int, lo_hz: float, hi_hz: float) -> float:
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / sr)
    return float(spec[(f >= lo_hz) & (f < hi_hz)].sum() / (spec.sum() + 1e-30))


def envelope_db(x: np.ndarray, sr: int, hop_s: float = 0.01) -> np.ndarray:
    hop = int(hop_s * sr)
    n = len(x) // hop
    power = np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1)
    return 10 * np.log10(power + np.max(power) * 1e-6 + 1e-30)


def modulation_peak_hz(x: np.ndarray, sr: int, lo_hz: float = 0.3, hi_hz: float = 20.0) -> tuple[float, float]:
    """The strongest envelope modulation frequency in [lo, hi] and its prominence (peak / median of
    the modulation spectrum in that range, in dB)."""
    env = envelope_db(x, sr)
    env = env - env.mean()
    spec = np.abs(np.fft.rfft(env * np.hanning(len(env)), 8 * len(env)))
    f = np.fft.rfftfreq(8 * len(env), 0.01)
    band = (f >= lo_hz) & (f <= hi_hz)
    k = np.argmax(spec[band])
    return float(f[band][k]), db((spec[band][k] / (np.median(spec[band]) + 1e-20)) ** 2)


def envelope_depth_db(x: np.ndarray, sr: int) -> float:
    """Spread of the 10 ms envelope: the 90th minus the 10th percentile, in dB."""
    env = envelope_db(x, sr)
    return float(np.percentile(env, 90) - np.percentile(env, 10))


def centroid_trend(x: np.ndarray, sr: int) -> float:
    """log2 ratio of the spectral centroid of the last quarter to the first quarter."""
    q = len(x) // 4
    first, last = x[:q], x[-q:]
    if rms_db(last) < rms_db(x) - 30 or rms_db(first) < rms_db(x) - 30:
        return 0.0  # one end is (nearly) silent: no trend to speak of
    return float(np.log2(spectral_centroid_hz(last, sr) / spectral_centroid_hz(first, sr)))


def signature(x: np.ndarray, sr: int) -> dict[str, float]:
    """The classifier-free signature of a sound: where its energy sits, how noisy, how it moves."""
    mono = x.mean(axis=1) if x.ndim == 2 else x
    mod_hz, mod_prom = modulation_peak_hz(mono, sr)
    centroid = spectral_centroid_hz(mono, sr)
    return {
        "centroid_hz": centroid,
        # noisiness where the sound lives: two octaves either side of its centroid
        "flatness": spectral_flatness(mono, sr, centroid / 4, centroid * 4),
        "depth_db": envelope_depth_db(mono, sr),
        "mod_hz": mod_hz,
        "mod_prominence_db": mod_prom,
        "crest_db": crest_factor_db(mono),
        "trend_oct": centroid_trend(mono, sr),
    }


def signature_vector(sig: dict[str, float]) -> np.ndarray:
    """Features on comparable scales: octaves of centroid, half-decades of flatness, 10 dB units,
    octaves of modulation rate (weighted by how prominent it is), octaves of centroid change."""
    return np.array(
        [
            np.log2(sig["centroid_hz"]),
            np.log10(max(sig["flatness"], 1e-4)) * 2,  # below 1e-4 everything is "tonal"
            sig["depth_db"] / 10,
            # the modulation rate counts only as far as it stands out (≥ 22 dB: fully)
            np.log2(sig["mod_hz"]) * min(max(sig["mod_prominence_db"] - 12, 0) / 10, 1.0),
            sig["crest_db"] / 10,
            sig["trend_oct"],
        ]
    )


def f0_track(x: np.ndarray, sr: int, fmin: float = 60.0, fmax: float = 600.0) -> np.ndarray:
    """f0 per frame with librosa's pYIN (0 where unvoiced); an estimator independent of pyworld, which
    the voice tools use to change pitch. Runs at 16 kHz (plenty for f0, and quicker)."""
    import librosa

    from assistant.audio.files import resample

    y = resample(np.asarray(x, dtype=np.float32), sr, 16_000) if sr != 16_000 else np.asarray(x, np.float32)
    f0, voiced, _ = librosa.pyin(y, fmin=fmin, fmax=fmax, sr=16_000, frame_length=1024, hop_length=160)
    return np.where(voiced & np.isfinite(f0), f0, 0.0)


def median_f0_hz(x: np.ndarray, sr: int, fmin: float = 60.0, fmax: float = 600.0) -> float:
    f0 = f0_track(x, sr, fmin, fmax)
    voiced = f0[f0 > 0]
    return float(np.median(voiced)) if voiced.size else 0.0


def cents(f_hz: float, ref_hz: float) -> float:
    return float(1200 * np.log2(f_hz / ref_hz))


def schroeder_decay_time_s(x: np.ndarray, sr: int, start: int, drop_db: float = 20.0, offset_db: float = 5.0) -> float:
    """Time for the backward-integrated energy after `start` to fall from -offset to -(offset+drop)
    dB, extrapolated to 60 dB (T20 when drop=20, offset=5; EDT when drop=10, offset=0)."""
    e = np.cumsum((x[start:] ** 2)[::-1])[::-1]
    e_db = 10 * np.log10(e / (e[0] + 1e-30) + 1e-30)
    a = np.argmax(e_db <= -offset_db)
    b = np.argmax(e_db <= -(offset_db + drop_db))
    return float((b - a) / sr * 60.0 / drop_db)


def gcc_itd_s(left: np.ndarray, right: np.ndarray, sr: int, max_lag_s: float = 0.0015) -> float:
    """Interaural time difference by cross-correlation: > 0 when the right ear leads (source on the
    right), with parabolic interpolation of the peak for sub-sample precision."""
    n = len(left) + len(right)
    cc = np.fft.irfft(np.fft.rfft(left, n) * np.conj(np.fft.rfft(right, n)), n)
    max_lag = int(max_lag_s * sr)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    values = np.concatenate([cc[: max_lag + 1], cc[-max_lag:]])
    k = int(np.argmax(values))
    lag = float(lags[k])
    # parabolic interpolation around the peak
    order = np.argsort(lags)
    ls, vs = lags[order], values[order]
    i = int(np.searchsorted(ls, lags[k]))
    if 0 < i < len(vs) - 1:
        y0, y1, y2 = vs[i - 1], vs[i], vs[i + 1]
        denom = y0 - 2 * y1 + y2
        if denom != 0:
            lag += 0.5 * (y0 - y2) / denom
    # cc[k] peaks where left(t) ~ right(t - k): k > 0 means the left is late, the right ear leads.
    return lag / sr


def woodworth_itd_s(azimuth_deg: float, head_radius_m: float = 0.0875, c: float = 343.0) -> float:
    """Woodworth's spherical-head ITD for a distant source (valid for |azimuth| ≤ 90°)."""
    th = np.deg2rad(azimuth_deg)
    return float(head_radius_m / c * (th + np.sin(th)))
