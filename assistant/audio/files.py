"""Reading and writing audio files, with the checks that turn bad input into a clear error.

Every tool loads through `load_audio` and writes through `write_audio`, so a corrupt file, an empty
or NaN-filled one, or one beyond the configured limits is refused the same way everywhere, naming
the file and the limit.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import faults
from ..config import AudioLimits
from ..errors import BadAudio, disk_full

# Formats soundfile writes, with the subtype used for each. WAV is 32-bit float so no tool's output
# clips before the user decides how loud it should be.
WRITE_FORMATS: dict[str, tuple[str, str | None]] = {
    "wav": ("WAV", "FLOAT"),
    "flac": ("FLAC", "PCM_24"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}


@dataclass(frozen=True)
class AudioInfo:
    duration_s: float
    sample_rate_hz: int
    channels: int
    frames: int
    format: str


def probe(path: Path, limits: AudioLimits | None = None) -> AudioInfo:
    """Header facts of an audio file, or BadAudio naming the file and what is wrong."""
    import soundfile as sf

    path = Path(path)
    limits = limits or AudioLimits()
    if path.stat().st_size == 0:
        raise BadAudio(f"{path.name} is empty (0 bytes)", "record or export the file again")
    if path.stat().st_size > limits.max_file_bytes:
        raise BadAudio(
            f"{path.name} is {path.stat().st_size / 1e9:.1f} GB, over the {limits.max_file_bytes / 1e9:.1f} GB limit",
            "cut it into shorter files",
        )
    try:
        info = sf.info(str(path))
    except Exception as exc:  # soundfile raises LibsndfileError/RuntimeError for non-audio
        raise BadAudio(
            f"{path.name} is not a readable audio file ({_short(exc)})",
            "check that it really is WAV/FLAC/OGG/MP3 audio and not another file renamed",
        ) from exc
    if info.frames <= 0 or info.samplerate <= 0:
        raise BadAudio(f"{path.name} contains no audio samples", "record or export the file again")
    if info.samplerate > limits.max_sample_rate_hz:
        raise BadAudio(
            f"{path.name} has a sample rate of {info.samplerate} Hz, over the {limits.max_sample_rate_hz} Hz limit",
            "resample it first",
        )
    duration = info.frames / info.samplerate
    if duration > limits.max_duration_s:
        raise BadAudio(
            f"{path.name} is {_clock(duration)} long, over the {_clock(limits.max_duration_s)} limit",
            "cut it into shorter files, or raise limits.max_duration_s in config.toml",
        )
    return AudioInfo(duration, int(info.samplerate), int(info.channels), int(info.frames), info.format)


BLOCK_FRAMES = 1 << 18  # frames decoded at a time when a file is mixed down to mono (~5 s at 48 kHz)


def load_audio(
    path: Path,
    *,
    sample_rate_hz: int | None = None,
    mono: bool = True,
    limits: AudioLimits | None = None,
    max_bytes: int | None = None,
    what: str = "",
) -> tuple[np.ndarray, int]:
    """float32 audio shaped (frames,) when mono else (frames, channels), resampled when asked.

    Memory: a file mixed down to mono is decoded block by block into the mono result (a 30-minute
    stereo file at 48 kHz costs its 345 MB mono array, not the 691 MB stereo one and a copy). With
    `max_bytes`, an input whose decoded samples alone would exceed it is refused before decoding."""
    import soundfile as sf

    path = Path(path)
    info = probe(path, limits)
    channels_out = 1 if mono else info.channels
    frames_out = info.frames * (sample_rate_hz or info.sample_rate_hz) // info.sample_rate_hz
    need = (info.frames + frames_out) * channels_out * 4 if sample_rate_hz else info.frames * channels_out * 4
    if max_bytes is not None and need > max_bytes:
        raise BadAudio(
            f"{path.name} would need about {need / 1e6:.0f} MB of memory as samples, over "
            f"{what + chr(39) + 's' if what else 'the'} limit of {max_bytes / 1e6:.0f} MB",
            "cut it into shorter files, or raise execution.limit_scale in config.toml",
        )
    try:
        if mono and info.channels > 1:
            data = np.empty((info.frames, 1), np.float32)
            n = 0
            with sf.SoundFile(str(path)) as f:
                for block in f.blocks(blocksize=BLOCK_FRAMES, dtype="float32", always_2d=True):
                    data[n : n + len(block), 0] = block.mean(axis=1)
                    n += len(block)
            data = data[:n]
            rate = info.sample_rate_hz
        else:
            data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise BadAudio(f"{path.name} could not be decoded ({_short(exc)})", "re-export the file") from exc
    if data.size == 0:
        raise BadAudio(f"{path.name} contains no audio samples", "record or export the file again")
    if not np.all(np.isfinite(data)):
        raise BadAudio(f"{path.name} contains NaN or infinite samples", "re-export the file from its source")
    if mono:
        data = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1)
    if sample_rate_hz and rate != sample_rate_hz:
        data = resample(data, rate, sample_rate_hz)
        rate = sample_rate_hz
    assert info.channels >= 1
    return np.ascontiguousarray(data, dtype=np.float32), int(rate)


def resample(audio: np.ndarray, from_hz: int, to_hz: int) -> np.ndarray:
    """High-quality resampling (soxr, what librosa uses by default)."""
    if from_hz == to_hz:
        return audio
    import soxr

    return soxr.resample(audio, from_hz, to_hz, quality="HQ").astype(np.float32)


def write_audio(path: Path, audio: np.ndarray, sample_rate_hz: int, fmt: str | None = None) -> AudioInfo:
    """Write atomically: a temp file beside the target, then rename, so a crash leaves no half file."""
    import soundfile as sf

    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or "wav").lower()
    if fmt not in WRITE_FORMATS:
        raise BadAudio(f"cannot write .{fmt} files", f"use one of {', '.join(WRITE_FORMATS)}")
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size == 0:
        raise BadAudio("the result is empty (no samples)", "check the times or options of the request")
    if not np.all(np.isfinite(audio)):
        raise BadAudio("the result contains NaN or infinite samples", "this is a bug in the tool; please report it")
    major, subtype = WRITE_FORMATS[fmt]
    if fmt in ("ogg", "mp3", "flac"):
        # Lossy and integer formats clip at full scale; say so instead of silently distorting.
        audio = np.clip(audio, -1.0, 1.0)
    fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=f".{fmt}", dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, audio, sample_rate_hz, format=major, subtype=subtype)
        faults.point("artifact_write")
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        # what the file needs, roughly: 4 bytes a sample as float WAV, ~2 as 24-bit FLAC, far less when lossy
        needed = int(audio.size * {"wav": 4, "flac": 2}.get(fmt, 0.1)) + 4096
        full = disk_full(path.parent, needed, exc) if isinstance(exc, Exception) else None
        if full is not None:
            raise full from exc
        raise
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    return AudioInfo(audio.shape[0] / sample_rate_hz, sample_rate_hz, channels, audio.shape[0], fmt.upper())


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
