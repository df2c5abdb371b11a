"""convert_voice: voice style transfer by WORLD analysis and resynthesis (pyworld), signal processing.

WORLD splits speech into an f0 contour, a spectral envelope (the vocal tract: formants) and an
aperiodicity (breathiness). Each style changes those and resynthesises, so the words, their timing
and the speaker's articulation stay:

  deeper / higher   f0 shifted by `semitones` (4 by default), formants moved 3 % per semitone
                    (up to 12 %), so it sounds like a larger or smaller speaker, not a sped-up tape
  child             f0 up 8 semitones and formants up 18 % (shorter vocal tract)
  robot             a flat f0 at the speaker's median pitch, fully periodic (buzzy)
  whisper           no f0 at all: the envelope driven by noise
  match             f0 mapped onto the pitch range of a reference voice (mean and spread of log f0)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import EarshotError
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

FRAME_MS = 5.0
F0_FLOOR_HZ, F0_CEIL_HZ = 60.0, 800.0
DEFAULT_SEMITONES = {"deeper": 4.0, "higher": 4.0, "child": 8.0}
CHILD_FORMANT = 1.18


def import_pyworld():
    """pyworld, imported even where setuptools no longer ships pkg_resources (≥ 81): pyworld 0.3.5's
    __init__ imports it only to read its own version, so a stand-in is lent for the import and removed."""
    import sys
    import types

    if "pyworld" in sys.modules:
        return sys.modules["pyworld"]
    lent = False
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        from importlib import metadata

        shim = types.ModuleType("pkg_resources")
        shim.get_distribution = lambda name: types.SimpleNamespace(version=metadata.version(name))
        sys.modules["pkg_resources"] = shim
        lent = True
    try:
        import pyworld
    except ImportError:
        raise EarshotError("convert_voice needs pyworld", "pip install 'earshot[music]'") from None
    finally:
        if lent:
            sys.modules.pop("pkg_resources", None)
    return pyworld


@dataclass(frozen=True)
class World:
    f0: np.ndarray  # Hz per frame, 0 when unvoiced
    sp: np.ndarray  # spectral envelope (frames, bins)
    ap: np.ndarray  # aperiodicity (frames, bins)
    rate: int


def analyse(x: np.ndarray, rate: int) -> World:
    pw = import_pyworld()
    x64 = np.ascontiguousarray(x, dtype=np.float64)
    # DIO + StoneMask: ~25× faster than Harvest (0.1 s vs 3 s for 4.5 s of speech on one core) and,
    # for resynthesis of clean speech, as intelligible (the tests check the transcript).
    f0, t = pw.dio(x64, rate, f0_floor=F0_FLOOR_HZ, f0_ceil=F0_CEIL_HZ, frame_period=FRAME_MS)
    f0 = pw.stonemask(x64, f0, t, rate)
    sp = pw.cheaptrick(x64, f0, t, rate)
    ap = pw.d4c(x64, f0, t, rate)
    return World(f0, sp, ap, rate)


def synthesise(w: World) -> np.ndarray:
    pw = import_pyworld()
    return pw.synthesize(
        np.ascontiguousarray(w.f0), np.ascontiguousarray(w.sp), np.ascontiguousarray(w.ap), w.rate, FRAME_MS
    )


def warp_envelope(sp: np.ndarray, factor: float) -> np.ndarray:
    """Move every formant by `factor` (>1 up): new(f) = old(f / factor), per frame."""
    if abs(factor - 1.0) < 1e-6:
        return sp
    bins = np.arange(sp.shape[1], dtype=np.float64)
    src = np.clip(bins / factor, 0, sp.shape[1] - 1)
    out = np.empty_like(sp)
    for i in range(sp.shape[0]):
        out[i] = np.interp(src, bins, sp[i])
    return out


def log_f0_stats(f0: np.ndarray) -> tuple[float, float]:
    """Centre (median) and spread (std) of log f0 over voiced frames; the median resists octave errors."""
    voiced = np.log(f0[f0 > 0])
    if voiced.size < 5:
        raise EarshotError(
            "no voiced speech was found to take a pitch from", "use a recording of someone speaking or singing"
        )
    return float(np.median(voiced)), float(max(voiced.std(), 1e-3))


def convert(
    x: np.ndarray,
    rate: int,
    style: str,
    semitones: float | None = None,
    reference: np.ndarray | None = None,
    reference_rate: int | None = None,
) -> tuple[np.ndarray, dict]:
    """mono float → converted mono float (same length and rate), and facts for the reply."""
    w = analyse(x, rate)
    f0, sp, ap = w.f0.copy(), w.sp, w.ap.copy()
    voiced = f0 > 0
    if voiced.sum() < 5:
        raise EarshotError("no voiced speech was found in the recording", "use a recording of someone speaking")
    facts: dict = {"style": style}
    if style in ("deeper", "higher", "child"):
        steps = abs(DEFAULT_SEMITONES[style] if semitones is None else semitones)
        steps = -steps if style == "deeper" else steps
        f0[voiced] *= 2 ** (steps / 12)
        formant = CHILD_FORMANT if style == "child" else 2 ** (np.clip(steps, -4, 4) * 0.04 / 1.0)
        sp = warp_envelope(sp, formant)
        facts.update(semitones=round(steps, 2), formant_factor=round(float(formant), 3))
    elif style == "robot":
        median = float(np.median(f0[voiced]))
        f0[voiced] = median
        ap[voiced] = 0.001  # fully periodic: the buzz
        facts.update(f0_hz=round(median, 1))
    elif style == "whisper":
        f0[:] = 0.0
        ap[:] = 1.0
    elif style == "match":
        if reference is None:
            raise EarshotError("match needs a reference voice", "name the recording whose pitch to match")
        ref_f0 = analyse(reference, reference_rate or rate).f0
        (mu_s, sd_s), (mu_r, sd_r) = log_f0_stats(f0), log_f0_stats(ref_f0)
        f0[voiced] = np.exp((np.log(f0[voiced]) - mu_s) / sd_s * sd_r + mu_r)
        shift = 12 * (mu_r - mu_s) / np.log(2)
        sp = warp_envelope(sp, 2 ** (np.clip(shift, -4, 4) * 0.04))
        facts.update(semitones=round(float(shift), 2), reference_f0_hz=round(float(np.exp(mu_r)), 1))
    else:
        raise EarshotError(f"unknown voice style {style!r}", "use deeper, higher, child, robot, whisper or match")
    y = synthesise(World(f0, sp, ap, rate))
    y = y[: len(x)] if len(y) >= len(x) else np.concatenate([y, np.zeros(len(x) - len(y))])
    # Same loudness as the input (RMS), never above -1 dBFS.
    gain = np.sqrt(np.mean(np.square(x)) / (np.mean(np.square(y)) + 1e-20))
    y *= gain
    peak = np.max(np.abs(y))
    if peak > 0.891:
        y *= 0.891 / peak
    return y.astype(np.float32), facts


@dataclass
class Args:
    file: Artifact
    style: Literal["deeper", "higher", "child", "robot", "whisper", "match"] = field(
        metadata={"doc": "match: take the pitch range of `reference`"}
    )
    semitones: float | None = field(
        default=None, metadata={"min": 0, "max": 24, "doc": "deeper/higher/child: how far (defaults 4, 4, 8)"}
    )
    reference: Artifact | None = field(default=None, metadata={"doc": "match: the voice to imitate"})


SPEC = ToolSpec(
    name="convert_voice",
    doing="changing the voice in {file}",
    summary="change a voice: deeper, higher, child, robot, whisper, or match another voice's pitch",
    examples=(
        "make my voice deeper in memo.wav",
        "turn the narration into a robot voice",
        "make it sound like a child",
        "match the pitch of voice.wav to reference.wav",
    ),
    method="WORLD vocoder analysis/resynthesis with pyworld (signal processing)",
    learned=False,
    licence="MIT (pyworld / WORLD)",
    timeout_s=1200,
    max_memory_mb=3072,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    audio, rate = ctx.load_audio(args.file)
    reference, ref_rate = None, None
    if args.style == "match":
        if args.reference is None:
            raise EarshotError("match needs a reference voice", "name the recording whose pitch range to take")
        require_audio(args.reference, SPEC.name)
        reference, ref_rate = ctx.load_audio(args.reference)
    ctx.progress(0.1, "analysing the voice")
    out, facts = convert(audio, rate, args.style, args.semitones, reference, ref_rate)
    parents = [args.file] + ([args.reference] if args.reference is not None and args.style == "match" else [])
    art = ctx.new_audio_artifact(out, rate, f"{stem_of(args.file)}-{args.style}", parents=parents, meta=facts)
    detail = {
        "deeper": f"{facts.get('semitones', 0):+g} semitones, formants ×{facts.get('formant_factor', 1):g}",
        "higher": f"{facts.get('semitones', 0):+g} semitones, formants ×{facts.get('formant_factor', 1):g}",
        "child": f"{facts.get('semitones', 0):+g} semitones, formants ×{facts.get('formant_factor', 1):g}",
        "robot": f"monotone at {facts.get('f0_hz', 0):g} Hz",
        "whisper": "no pitch, noise-excited",
        "match": f"pitch range of {args.reference.name if args.reference else 'the reference'} "
        f"(centre {facts.get('reference_f0_hz', 0):g} Hz, {facts.get('semitones', 0):+g} semitones)",
    }[args.style]
    return ToolResult(
        f"Converted {args.file.name} to a {args.style} voice ({detail}) with the WORLD vocoder — "
        f"signal processing → {art.name}.",
        [art],
        facts,
    )
