"""Procedural sound-effect synthesisers (signal processing): filtered and enveloped noise, pulse trains
through formant filters, FM chirps, additive partials. Each preset's parameters follow `intensity` and a
seed; layers are loudness-matched, the first in front and each later one 4 dB further back, summed to stereo.

    PRESETS: dict[str, str]              preset name → one-line description
    render(layers, duration_s, sample_rate_hz=48000, seed=0, intensity=0.5) -> float32 (frames, 2),
        peaking at -1 dBFS; the same arguments always give the same samples.

Used by the generate_sound and image_to_audio tools.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Literal

import numpy as np

from ..errors import EarshotError

PRESETS: dict[str, str] = {
    "rain": "steady rain: bright hiss and droplets",
    "wind": "gusting wind: low band noise swelling and howling",
    "thunder": "a thunder crack and long low rumble",
    "sea_waves": "sea waves washing in and out every few seconds",
    "fire": "a crackling fire: low roar with sparse pops",
    "birds": "birdsong: fast chirps and trills, high and tonal",
    "crowd": "a murmuring crowd of many voices",
    "applause": "a room of people clapping",
    "engine": "an idling or cruising car engine: low harmonic rumble",
    "race_car": "a race car screaming past with gear shifts and Doppler",
    "footsteps": "footsteps walking on a hard floor",
    "heartbeat": "a slow heartbeat: low lub-dub thumps",
    "clock": "a ticking clock",
    "beeps": "electronic beeps at 1 kHz",
    "siren": "an emergency siren wailing up and down",
    "riser": "a rising sweep building tension",
    "whoosh": "a fast whoosh passing by",
    "lion_roar": "a lion's roar: deep growling bursts",
    "dog_bark": "a dog barking",
}

Preset = Literal[
    "rain",
    "wind",
    "thunder",
    "sea_waves",
    "fire",
    "birds",
    "crowd",
    "applause",
    "engine",
    "race_car",
    "footsteps",
    "heartbeat",
    "clock",
    "beeps",
    "siren",
    "riser",
    "whoosh",
    "lion_roar",
    "dog_bark",
]

PEAK_DBFS = -1.0
LAYER_STEP_DB = -4.0  # each later layer sits this much further back than the one before
MAX_LAYERS = 4
MAX_DURATION_S = 120.0


# -- small building blocks -------------------------------------------------------------------------
def _sos(kind: str, freq, sr: int, order: int = 2):
    """A Butterworth filter; frequencies are clipped below Nyquist so any sample rate works."""
    from scipy import signal  # lazily: a 1 s import, and every command loads the registry

    nyq = sr / 2
    if isinstance(freq, (tuple, list)):
        lo, hi = max(freq[0], 1.0), min(freq[1], 0.95 * nyq)
        return signal.butter(order, [lo, hi], btype=kind, fs=sr, output="sos")
    return signal.butter(order, min(max(freq, 1.0), 0.95 * nyq), btype=kind, fs=sr, output="sos")


def _filt(x: np.ndarray, kind: str, freq, sr: int, order: int = 2) -> np.ndarray:
    from scipy import signal

    return signal.sosfilt(_sos(kind, freq, sr, order), x, axis=0)


def _slow_curve(
    rng: np.random.Generator, n: int, sr: int, rate_hz: float, lo: float = 0.0, hi: float = 1.0
) -> np.ndarray:
    """A smooth random curve between lo and hi that changes about `rate_hz` times a second."""
    points = max(int(n / sr * rate_hz) + 4, 4)
    knots = rng.uniform(lo, hi, points)
    t = np.linspace(0, points - 3, n)
    # cubic-ish smoothness from linear interpolation of a moving average of the knots
    smooth = np.convolve(knots, np.ones(3) / 3, mode="same")
    return np.interp(t, np.arange(points), smooth)


def _pan(mono: np.ndarray, position) -> np.ndarray:
    """Equal-power pan: position -1 (left) … +1 (right), a number or a per-sample array."""
    theta = (np.clip(position, -1, 1) + 1) * np.pi / 4
    return np.stack([mono * np.cos(theta), mono * np.sin(theta)], axis=1)


def _wide_noise(rng: np.random.Generator, n: int, width: float = 0.8) -> np.ndarray:
    """Stereo white noise whose channels correlate by 1 - width (0: mono, 1: independent)."""
    common, a, b = rng.standard_normal((3, n))
    w = np.sqrt(width)
    return np.stack([np.sqrt(1 - width) * common + w * a, np.sqrt(1 - width) * common + w * b], axis=1)


def _shaped_noise(
    rng: np.random.Generator,
    n: int,
    sr: int,
    gain: Callable[[np.ndarray, np.ndarray], np.ndarray],
    width: float = 0.8,
    nperseg: int = 2048,
) -> np.ndarray:
    """Stereo noise whose spectrum follows gain(freqs_hz[:, None], times_s[None, :]) (STFT shaping)."""
    from scipy import signal

    noise = _wide_noise(rng, n, width)
    out = np.zeros_like(noise)
    for ch in range(2):
        f, t, z = signal.stft(noise[:, ch], fs=sr, nperseg=nperseg)
        z *= gain(f[:, None], t[None, :])
        _, y = signal.istft(z, fs=sr, nperseg=nperseg)
        out[:, ch] = y[:n] if len(y) >= n else np.pad(y, (0, n - len(y)))
    return out


def _decay(n: int, sr: int, tau_s: float) -> np.ndarray:
    return np.exp(-np.arange(n) / (sr * tau_s))


def _place(out: np.ndarray, grain: np.ndarray, start: int) -> None:
    """Add a (frames, 2) or (frames,) grain into out at `start`, clipped to the buffer."""
    if start >= len(out) or start + len(grain) <= 0:
        return
    a, b = max(start, 0), min(start + len(grain), len(out))
    g = grain[a - start : b - start]
    out[a:b] += g if g.ndim == 2 else g[:, None]


def _pulse_train(f0: np.ndarray, sr: int, shape_s: float = 0.0) -> np.ndarray:
    """Band-limited-ish glottal/combustion pulses following an f0 contour (Hz per sample)."""
    phase = np.cumsum(f0 / sr)
    saw = phase - np.floor(phase)
    # A sharpened sawtooth: rich in harmonics, with a smooth return so aliasing stays modest.
    pulse = np.exp(-saw / max(shape_s * np.mean(f0) if shape_s else 0.12, 1e-3)) - 0.1
    return pulse - pulse.mean()


def _formants(x: np.ndarray, sr: int, freqs_bw: list[tuple[float, float, float]]) -> np.ndarray:
    """A parallel bank of resonators: (centre Hz, bandwidth Hz, gain)."""
    from scipy import signal

    y = np.zeros_like(x)
    for fc, bw, g in freqs_bw:
        if fc >= 0.45 * sr:
            continue
        b, a = signal.iirpeak(fc, fc / bw, fs=sr)
        y += g * signal.lfilter(b, a, x)
    return y


# -- the presets: (rng, frames, rate, intensity 0..1) → stereo float ------------------------------------
def _rain(rng, n, sr, k):
    def shape(f, t):
        # A broad hump peaking near 3 kHz with the low end rolled off: the hiss of many small drops.
        return (f / 3000) * np.exp(-f / 3000) * (f > 300)

    hiss = _shaped_noise(rng, n, sr, shape, width=0.95)
    hiss /= np.std(hiss) + 1e-12
    out = 0.6 * hiss
    drops = int(n / sr * (150 + 900 * k))
    length = int(0.004 * sr)
    env = _decay(length, sr, 0.0008)
    tt = np.arange(length) / sr
    for start, freq, amp, pos in zip(
        rng.integers(0, n, drops),
        rng.uniform(2500, 7000, drops),
        rng.lognormal(0, 0.6, drops),
        rng.uniform(-1, 1, drops),
    ):
        _place(out, _pan(amp * env * np.sin(2 * np.pi * freq * tt), pos), int(start))
    return _filt(out, "highpass", 400, sr)


def _wind(rng, n, sr, k):
    gust_rate = 0.15 + 0.35 * k
    t_env = np.linspace(0, n / sr, 200 + int(n / sr * 20))
    level = _slow_curve(rng, len(t_env), len(t_env) / (n / sr), gust_rate, 0.1, 1.0) ** 2
    centre = 150 + 300 * k + 350 * level  # gusts howl higher

    def shape(f, t):
        lv = np.interp(t, t_env, level)
        fc = np.interp(t, t_env, centre)
        return lv * np.exp(-0.5 * (np.log2((f + 1) / fc) / 0.7) ** 2)

    out = _shaped_noise(rng, n, sr, shape, width=0.6)
    return out


def _thunder(rng, n, sr, k):
    out = np.zeros((n, 2))
    strikes = [int(0.1 * sr)]
    while strikes[-1] + int(7 * sr) < n:
        strikes.append(strikes[-1] + int(rng.uniform(6, 11) * sr))
    for s in strikes:
        length = min(int(rng.uniform(4, 7) * sr), n - s)
        if length <= 0:
            continue
        crack = _filt(_wide_noise(rng, length, 0.5), "highpass", 1500, sr) * _decay(length, sr, 0.05)[:, None]
        # The rumble: low-passed noise with a few rolling swells under a slow decay.
        rumble = _filt(np.cumsum(_wide_noise(rng, length, 0.7), axis=0), "lowpass", 160 + 80 * k, sr, order=4)
        rumble = _filt(rumble, "highpass", 25, sr)
        rumble /= np.std(rumble) + 1e-12
        rolls = _slow_curve(rng, length, sr, 2.0, 0.3, 1.0) * _decay(length, sr, 1.5 + k)
        _place(out, 0.4 * crack * (0.5 + k) + rumble * rolls[:, None], s)
    return out


def _sea_waves(rng, n, sr, k):
    period = 9.0 - 3.0 * k
    t_env = np.arange(0, n / sr + period, 0.05)
    phase = (t_env / period + rng.uniform(0, 1)) % 1.0
    # Each wave: a swell, a break (loud broadband wash) and a fizzing retreat.
    wash = np.where(phase < 0.35, (phase / 0.35) ** 2, np.exp(-(phase - 0.35) / 0.22))
    wash = 0.04 + wash

    def shape(f, t):
        w = np.interp(t, t_env, wash)
        tilt = (f + 50) ** -0.5 * np.exp(-f / (1500 + 4000 * w))
        return w * tilt * (f > 40)

    return _shaped_noise(rng, n, sr, shape, width=0.9)


def _fire(rng, n, sr, k):
    roar = _filt(np.cumsum(_wide_noise(rng, n, 0.6), axis=0), "bandpass", (40, 400), sr)
    roar /= np.std(roar) + 1e-12
    roar *= _slow_curve(rng, n, sr, 1.5, 0.5, 1.0)[:, None] * 0.2
    hiss = _filt(_wide_noise(rng, n, 0.9), "bandpass", (2000, 7000), sr) * 0.03
    out = roar + hiss
    pops = int(n / sr * (6 + 30 * k))
    for start in rng.integers(0, n, pops):
        length = int(rng.uniform(0.0015, 0.012) * sr)
        click = rng.standard_normal(length) * _decay(length, sr, rng.uniform(0.0005, 0.003))
        click = _filt(click, "bandpass", (800, 6000), sr) * min(1.0 + rng.pareto(3.0), 5.0) * 3.0
        burst = rng.integers(1, 4)  # crackles come in little bursts
        for j in range(burst):
            _place(out, _pan(click * (0.6**j), rng.uniform(-0.6, 0.6)), int(start + j * rng.integers(200, 2500)))
    return out


def _birds(rng, n, sr, k):
    out = np.zeros((n, 2))
    birds = 2 + int(3 * k)
    for _ in range(birds):
        pos = rng.uniform(-0.9, 0.9)
        base = rng.uniform(2500, 5000)
        t = rng.uniform(0, 1.0) * sr
        while t < n:
            notes = rng.integers(2, 7)
            for _ in range(notes):
                length = int(rng.uniform(0.04, 0.15) * sr)
                tt = np.arange(length) / sr
                sweep = rng.uniform(-0.6, 0.6) * base
                trill = rng.choice([0.0, rng.uniform(0.05, 0.15) * base])
                freq = base + sweep * tt / tt[-1] + trill * np.sin(2 * np.pi * rng.uniform(20, 45) * tt)
                chirp = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.sin(np.pi * tt / tt[-1]) ** 2
                chirp += 0.15 * np.sin(4 * np.pi * np.cumsum(freq) / sr) * np.sin(np.pi * tt / tt[-1]) ** 2
                _place(out, _pan(chirp * rng.uniform(0.4, 1.0), pos), int(t))
                t += length + rng.uniform(0.02, 0.08) * sr
            t += rng.uniform(0.8, 3.0) * sr / (0.6 + k)
    return out


def _voice(rng, n, sr, f0_mean):
    """One babbling voice: a glottal pulse train through formants that change every syllable."""
    syll = 1.0 / rng.uniform(3.5, 5.5)
    f0 = f0_mean * (1 + 0.08 * _slow_curve(rng, n, sr, 2.0, -1, 1))
    src = _pulse_train(f0, sr) + 0.05 * rng.standard_normal(n)
    vowels = [
        (730, 1090, 2440),
        (270, 2290, 3010),
        (530, 1840, 2480),
        (570, 840, 2410),
        (300, 870, 2240),
        (660, 1720, 2410),
    ]
    hop = int(syll * sr)
    y = np.zeros(n)
    win = np.hanning(2 * hop)
    for start in range(-hop, n, hop):
        f1, f2, f3 = vowels[rng.integers(len(vowels))]
        a, b = max(start, 0), min(start + 2 * hop, n)
        if b <= a:
            continue
        seg = _formants(src[a:b], sr, [(f1, 90, 1.0), (f2, 120, 0.5), (f3, 160, 0.25)])
        w = win[a - start : b - start] * (rng.uniform(0.2, 1.0) if rng.uniform() > 0.15 else 0.0)
        y[a:b] += seg * w
    return y


def _crowd(rng, n, sr, k):
    voices = 8 + int(10 * k)
    out = np.zeros((n, 2))
    for _ in range(voices):
        v = _voice(rng, n, sr, rng.choice([rng.uniform(95, 140), rng.uniform(180, 260)]))
        v /= np.std(v) + 1e-12
        out += _pan(v, rng.uniform(-0.9, 0.9))
    # A diffuse murmur bed under the distinct voices, speech-shaped.
    bed = _filt(_wide_noise(rng, n, 0.9), "bandpass", (200, 2500), sr)
    out += bed * 0.3 * np.std(out) / (np.std(bed) + 1e-12)
    return _filt(out, "lowpass", 4000, sr)


def _applause(rng, n, sr, k):
    out = np.zeros((n, 2))
    clappers = 15 + int(40 * k)
    length = int(0.012 * sr)
    for _ in range(clappers):
        pos = rng.uniform(-1, 1)
        fc = rng.uniform(900, 2800)
        rate = rng.uniform(3.0, 5.5)
        burst = _filt(rng.standard_normal(length), "bandpass", (fc / 1.6, fc * 1.6), sr) * _decay(length, sr, 0.0025)
        grain = _pan(burst, pos)
        t = rng.uniform(0, 0.3) * sr
        while t < n:
            _place(out, grain * rng.uniform(0.5, 1.0), int(t))
            t += sr / rate * rng.uniform(0.85, 1.15)
    return out


def _engine_core(rng, n, sr, f_fire: np.ndarray, bright_hz: float) -> np.ndarray:
    jitter = 1 + 0.01 * rng.standard_normal(n)
    pulses = _pulse_train(f_fire * jitter, sr, shape_s=0.08)
    body = _formants(pulses, sr, [(180, 80, 1.0), (420, 150, 0.6), (900, 300, 0.3)])
    y = _filt(pulses, "lowpass", bright_hz, sr) + 0.5 * body
    y += 0.05 * _filt(rng.standard_normal(n), "lowpass", bright_hz, sr) * np.std(y)
    return y


def _engine(rng, n, sr, k):
    rpm = (800 + 2200 * k) * (1 + 0.04 * _slow_curve(rng, n, sr, 0.5, -1, 1))
    f_fire = rpm / 60 * 2  # four cylinders, four-stroke: two firings per revolution
    y = _engine_core(rng, n, sr, f_fire, 1200)
    return _pan(y, 0.0) + 0.05 * _pan(np.roll(y, int(0.011 * sr)), -0.5)


def _race_car(rng, n, sr, k):
    out = np.zeros((n, 2))
    pass_s = 6.0
    passes = max(1, int(round(n / sr / pass_s)))
    span = n // passes
    for p in range(passes):
        m = span if p < passes - 1 else n - p * span
        t = np.arange(m) / sr
        centre = m / sr / 2
        # Gear shifts: rpm climbs, drops by a third on each shift.
        gear_s = 1.1 - 0.4 * k
        rpm = 9000 + 4000 * ((t / gear_s) % 1.0) + 1500 * k
        # Doppler for 60 m/s passing 10 m away.
        v, d, c = 60.0, 10.0, 343.0
        x = v * (t - centre)
        radial = v * x / np.sqrt(x**2 + d**2)
        doppler = c / (c + radial)
        f_fire = rpm / 60 * 5 * doppler  # a V10: five firings per revolution
        y = _engine_core(rng, m, sr, f_fire, 6000)
        y *= 1.0 / (1 + (x / 25.0) ** 2) ** 0.5
        out[p * span : p * span + m] += _pan(y, np.tanh(x / 20.0))
    return out


def _footsteps(rng, n, sr, k):
    out = np.zeros((n, 2))
    rate = 1.7 + 1.6 * k
    t, left = 0.1 * sr, True
    for _ in range(int(n / sr * rate) + 2):
        length = int(0.12 * sr)
        heel = _filt(rng.standard_normal(length), "bandpass", (80, 600), sr) * _decay(length, sr, 0.018)
        toe = _filt(rng.standard_normal(length), "bandpass", (1200, 4000), sr) * _decay(length, sr, 0.008) * 0.4
        step = heel + np.roll(toe, int(0.06 * sr))
        _place(out, _pan(step * rng.uniform(0.7, 1.0), -0.2 if left else 0.2), int(t))
        left = not left
        t += sr / rate * rng.uniform(0.95, 1.05)
    return out


def _heartbeat(rng, n, sr, k):
    out = np.zeros(n)
    bpm = 55 + 70 * k
    length = int(0.15 * sr)
    tt = np.arange(length) / sr
    t = 0.1 * sr
    while t < n:
        for delay, f, amp in ((0.0, 55, 1.0), (0.28, 70, 0.7)):  # lub, dub
            # a short low thump whose pitch sags from f to 0.7 f
            thump = amp * np.sin(2 * np.pi * f * tt * (1 - 0.15 * tt / tt[-1])) * np.sin(np.pi * tt / tt[-1]) ** 2
            _place(out[:, None], thump[:, None], int(t + delay * sr))
        t += 60 / bpm * sr
    return _pan(out, 0.0)


def _clock(rng, n, sr, k):
    out = np.zeros(n)
    length = int(0.03 * sr)
    tt = np.arange(length) / sr
    t, tick = 0.05 * sr, True
    interval = 0.5 if k < 0.7 else 0.25
    while t < n:
        click = rng.standard_normal(length) * _decay(length, sr, 0.0015)
        click = _formants(click, sr, [(3200 if tick else 2600, 300, 1.0), (5200, 500, 0.5)])
        click += 0.3 * np.sin(2 * np.pi * 1800 * tt) * _decay(length, sr, 0.004)
        _place(out[:, None], click[:, None], int(t))
        t += interval * sr
        tick = not tick
    return _pan(out, 0.0)


def _beeps(rng, n, sr, k):
    rate = 2.0 + 2.0 * k
    t = np.arange(n) / sr
    gate = ((t * rate) % 1.0) < 0.35
    ramp = int(0.003 * sr)
    gate = np.convolve(gate.astype(float), np.ones(ramp) / ramp, mode="same")
    return _pan(np.sin(2 * np.pi * 1000 * t) * gate, 0.0)


def _siren(rng, n, sr, k):
    t = np.arange(n) / sr
    period = 4.0 - 2.5 * k
    freq = 950 + 400 * np.sin(2 * np.pi * t / period)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    tone = np.sin(phase) + 0.3 * np.sin(3 * phase) + 0.15 * np.sin(5 * phase)
    return _pan(tone, 0.3 * np.sin(2 * np.pi * t / 11))


def _riser(rng, n, sr, k):
    from scipy import signal

    t = np.arange(n) / sr
    frac = t / t[-1] if n > 1 else t
    freq = 150 * (30**frac)  # 150 Hz → 4.5 kHz, exponential
    tone = signal.sawtooth(2 * np.pi * np.cumsum(freq) / sr) * 0.3
    amp = 0.15 + 0.85 * frac**2

    def shape(f, tt):
        fr = tt / (n / sr)
        fc = 300 * (30**fr)
        return np.exp(-0.5 * (np.log2((f + 1) / fc) / 0.8) ** 2)

    noise = _shaped_noise(rng, n, sr, shape, width=0.7)
    noise /= np.std(noise) + 1e-12
    tone_f = _filt(tone, "highpass", 100, sr)
    return (0.4 * noise + _pan(tone_f, 0.0)) * amp[:, None]


def _whoosh(rng, n, sr, k):
    out = np.zeros((n, 2))
    length = min(int((1.2 - 0.6 * k) * sr), n)
    gap = int(2.5 * sr)
    t_len = length / sr

    def shape(f, tt):
        x = tt / t_len
        fc = 300 + 3500 * np.sin(np.pi * np.clip(x, 0, 1))
        return np.exp(-0.5 * (np.log2((f + 1) / fc) / 0.6) ** 2)

    start = 0
    while start < n:
        w = _shaped_noise(rng, length, sr, shape, width=0.3)
        env = np.sin(np.pi * np.linspace(0, 1, length)) ** 2
        pan = np.linspace(-0.9, 0.9, length)
        mono = w[:, 0] * env
        _place(out, _pan(mono, pan), start)
        start += length + gap
    return out


def _roar(rng, sr, k, length_s):
    m = int(length_s * sr)
    t = np.arange(m) / sr
    x = t / length_s
    f0 = (180 + 60 * k) * (0.55 + 0.45 * np.sin(np.pi * np.clip(x * 1.3, 0, 1)))
    growl = 1 + 0.6 * np.sin(2 * np.pi * 28 * t)  # roughness: a fast amplitude flutter
    src = _pulse_train(f0 * (1 + 0.02 * rng.standard_normal(m)), sr) * growl
    src += 0.4 * rng.standard_normal(m)  # breath noise
    body = _formants(src, sr, [(350, 150, 1.0), (800, 250, 0.8), (1800, 400, 0.35), (3000, 600, 0.12)])
    env = np.sin(np.pi * np.clip(x, 0, 1)) ** 0.7 * np.exp(-1.2 * x)
    return body * env


def _lion_roar(rng, n, sr, k):
    out = np.zeros((n, 2))
    t = int(0.05 * sr)
    while t < n:
        length_s = rng.uniform(1.6, 2.6)
        _place(out, _pan(_roar(rng, sr, k, length_s), rng.uniform(-0.2, 0.2)), t)
        t += int((length_s + rng.uniform(0.6, 1.4)) * sr)
    return out


def _dog_bark(rng, n, sr, k):
    out = np.zeros((n, 2))
    t = int(0.05 * sr)
    pos = rng.uniform(-0.4, 0.4)
    while t < n:
        for _ in range(rng.integers(1, 4)):  # "woof", "woof woof"…
            m = int(rng.uniform(0.12, 0.2) * sr)
            tt = np.arange(m) / sr
            x = tt / tt[-1]
            f0 = (380 + 200 * k) * (1.2 - 0.5 * x)
            src = _pulse_train(f0, sr) + 0.5 * rng.standard_normal(m)
            bark = _formants(src, sr, [(600, 200, 1.0), (1300, 300, 0.8), (2600, 500, 0.4)])
            env = np.minimum(x / 0.08, 1.0) * np.exp(-4 * x)
            _place(out, _pan(bark * env, pos), t)
            t += m + int(rng.uniform(0.12, 0.25) * sr)
        t += int(rng.uniform(0.7, 1.6) * sr)
    return out


_SYNTHS: dict[str, Callable] = {
    "rain": _rain,
    "wind": _wind,
    "thunder": _thunder,
    "sea_waves": _sea_waves,
    "fire": _fire,
    "birds": _birds,
    "crowd": _crowd,
    "applause": _applause,
    "engine": _engine,
    "race_car": _race_car,
    "footsteps": _footsteps,
    "heartbeat": _heartbeat,
    "clock": _clock,
    "beeps": _beeps,
    "siren": _siren,
    "riser": _riser,
    "whoosh": _whoosh,
    "lion_roar": _lion_roar,
    "dog_bark": _dog_bark,
}
assert set(_SYNTHS) == set(PRESETS)


def _loudness_level(x: np.ndarray, sr: int) -> float:
    """A loudness proxy for matching layers: RMS in dB of the K-weighting-like highpassed mix, over
    the louder half of 100 ms blocks (so sparse sounds such as footsteps are not pushed up)."""
    mono = _filt(x.mean(axis=1), "highpass", 60, sr)
    block = max(int(0.1 * sr), 1)
    usable = len(mono) // block * block
    if usable == 0:
        return 10 * np.log10(np.mean(mono**2) + 1e-20)
    power = np.mean(mono[:usable].reshape(-1, block) ** 2, axis=1)
    loud = np.sort(power)[len(power) // 2 :]
    return float(10 * np.log10(np.mean(loud) + 1e-20))


def render_layer(
    name: str, duration_s: float, sample_rate_hz: int = 48_000, seed: int = 0, intensity: float = 0.5
) -> np.ndarray:
    """One preset, float64 stereo, not normalised."""
    if name not in _SYNTHS:
        raise EarshotError(f"there is no sound preset {name!r}", f"presets: {', '.join(PRESETS)}")
    n = max(int(round(duration_s * sample_rate_hz)), 1)
    # The seed is combined with the preset name so two layers of a mix never share their noise.
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    y = np.asarray(_SYNTHS[name](rng, n, sample_rate_hz, float(np.clip(intensity, 0, 1))), dtype=np.float64)
    fade = min(int(0.01 * sample_rate_hz), n // 4)
    if fade:
        ramp = np.sin(0.5 * np.pi * np.arange(fade) / fade)[:, None]
        y[:fade] *= ramp
        y[-fade:] *= ramp[::-1]
    return y


def render(
    layers: list[str], duration_s: float, sample_rate_hz: int = 48_000, seed: int = 0, intensity: float = 0.5
) -> np.ndarray:
    """Render and mix presets: float32 stereo (frames, 2) peaking at -1 dBFS, deterministic for a seed.

    Layers are loudness-matched; layer i sits i × 4 dB behind the first."""
    if not layers:
        raise EarshotError("no sound was named", f"pick one or more presets: {', '.join(PRESETS)}")
    if len(layers) > MAX_LAYERS:
        raise EarshotError(f"at most {MAX_LAYERS} layers can be mixed, got {len(layers)}", "drop some layers")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise EarshotError(
            f"a sound effect lasts up to {MAX_DURATION_S:g} s, not {duration_s:g} s", "ask for a shorter sound"
        )
    mix = None
    for i, name in enumerate(layers):
        y = render_layer(name, duration_s, sample_rate_hz, seed, intensity)
        gain_db = -20.0 - _loudness_level(y, sample_rate_hz) + LAYER_STEP_DB * i
        y *= 10 ** (gain_db / 20)
        mix = y if mix is None else mix + y
    peak = float(np.max(np.abs(mix)))
    if peak > 0:
        mix *= 10 ** (PEAK_DBFS / 20) / peak
    return mix.astype(np.float32)
