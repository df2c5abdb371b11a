"""describe: measure a file — duration, rate, channels, loudness (LUFS), true peak, silence, tempo."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

SILENCE_DBFS = -50.0  # a 50 ms frame quieter than this (RMS) counts as silence
FRAME_S = 0.05


@dataclass
class Args:
    file: Artifact


SPEC = ToolSpec(
    name="describe",
    summary="measure duration, sample rate, loudness (LUFS), true peak, silence and tempo",
    examples=("how loud is song.wav?", "what's the tempo of @a3?", "give me the duration and sample rate of take2.wav"),
    method="signal processing (ITU-R BS.1770 loudness via pyloudnorm, 4x-oversampled true peak, librosa beats)",
    learned=False,
    licence="MIT / ISC",
    timeout_s=300,
    max_memory_mb=2048,
)


def integrated_lufs(audio: np.ndarray, rate: int) -> float | None:
    """BS.1770 integrated loudness; None for clips shorter than one 400 ms gating block or pure silence."""
    import pyloudnorm

    if audio.shape[0] < int(0.4 * rate):
        return None
    value = pyloudnorm.Meter(rate).integrated_loudness(audio)
    return None if not np.isfinite(value) else float(value)


def true_peak_dbtp(audio: np.ndarray) -> float:
    """BS.1770-4 true peak: the sample peak of the signal oversampled 4x."""
    from scipy.signal import resample_poly

    x = audio if audio.ndim == 2 else audio[:, None]
    peak = max(float(np.max(np.abs(resample_poly(x[:, c], 4, 1)))) for c in range(x.shape[1]))
    return 20 * np.log10(max(peak, 1e-10))


def silence_share(mono: np.ndarray, rate: int) -> float:
    frame = max(1, int(FRAME_S * rate))
    n = len(mono) // frame
    if n == 0:
        return 1.0
    rms = np.sqrt(np.mean(mono[: n * frame].reshape(n, frame) ** 2, axis=1))
    return float(np.mean(20 * np.log10(np.maximum(rms, 1e-10)) < SILENCE_DBFS))


TEMPO_RATE_HZ = 22050
TEMPO_HOP = 256  # 11.6 ms onset frames: fine enough that the fitted beat period is within 1 %


def tempo_bpm(mono: np.ndarray, rate: int) -> tuple[float | None, float]:
    """Tempo and a 0..1 confidence. None when there is no steady beat (speech, noise, ambience).

    librosa's beat tracker places the beats; the tempo is then the slope of a straight line through
    the beat times (a whole-clip average, far finer than the tracker's tempogram bins). Confidence is
    the onset envelope's normalised autocorrelation at the beat period: a real pulse repeats itself,
    while the tracker will happily lay an even grid over noise."""
    import librosa

    if len(mono) < 4 * rate:
        return None, 0.0
    y = librosa.resample(mono, orig_sr=rate, target_sr=TEMPO_RATE_HZ) if rate != TEMPO_RATE_HZ else mono
    onset = librosa.onset.onset_strength(y=y, sr=TEMPO_RATE_HZ, hop_length=TEMPO_HOP)
    if onset.max() <= 1e-6:
        return None, 0.0
    _, beats = librosa.beat.beat_track(onset_envelope=onset, sr=TEMPO_RATE_HZ, hop_length=TEMPO_HOP)
    if len(beats) < 4:
        return None, 0.0
    times = librosa.frames_to_time(beats, sr=TEMPO_RATE_HZ, hop_length=TEMPO_HOP)
    period_s = float(np.polyfit(np.arange(len(times)), times, 1)[0])
    if period_s <= 0:
        return None, 0.0
    centred = onset - onset.mean()
    energy = float(np.dot(centred, centred)) or 1e-12
    lag = period_s * TEMPO_RATE_HZ / TEMPO_HOP
    lags = range(max(1, int(lag) - 1), min(len(centred) - 1, int(lag) + 2) + 1)
    confidence = max(float(np.dot(centred[:-k], centred[k:])) / energy for k in lags)
    confidence = round(min(max(confidence, 0.0), 1.0), 2)
    return (round(60.0 / period_s, 1) if confidence >= 0.3 else None), confidence


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    info = ctx.probe(args.file)
    audio, rate = ctx.load_audio(args.file, mono=False)
    mono = audio.mean(axis=1)
    ctx.progress(0.2, "loudness")
    lufs = integrated_lufs(audio if audio.shape[1] > 1 else audio[:, 0], rate)
    peak = float(np.max(np.abs(audio)))
    facts = {
        "duration_s": round(info.duration_s, 3),
        "sample_rate_hz": rate,
        "channels": info.channels,
        "format": info.format,
        "integrated_lufs": None if lufs is None else round(lufs, 2),
        "true_peak_dbtp": round(true_peak_dbtp(audio), 2),
        "sample_peak_dbfs": round(20 * np.log10(max(peak, 1e-10)), 2),
        "silence_share": round(silence_share(mono, rate), 3),
    }
    ctx.progress(0.5, "tempo")
    facts["tempo_bpm"], facts["tempo_confidence"] = tempo_bpm(mono, rate)
    report = ctx.new_file_artifact(
        json.dumps(facts, indent=1), f"{stem_of(args.file)}-measurements", ".json", "json", parents=[args.file]
    )
    loud = f"{facts['integrated_lufs']:.1f} LUFS integrated" if lufs is not None else "too short for a LUFS reading"
    tempo = f"about {facts['tempo_bpm']:.0f} BPM" if facts["tempo_bpm"] else "no steady beat"
    summary = (
        f"{args.file.name}: {info.duration_s:.1f} s, {rate} Hz, {info.channels} channel"
        f"{'s' if info.channels > 1 else ''}; {loud}, true peak {facts['true_peak_dbtp']:.1f} dBTP; "
        f"{facts['silence_share']:.0%} silence; {tempo}."
    )
    return ToolResult(summary, [report], facts)
