"""inpaint: fill a dropout, or remove a click or cough, between two times.

Two signal-processing methods (no learned model):
  interpolate  autoregressive (LPC) interpolation: an all-pole model fitted to the audio on each side
               predicts forwards from the left edge and backwards from the right edge, and the two
               predictions are cross-faded (Janssen/Etter style). Best for short gaps (clicks, up to
               ~100 ms) in tonal material.
  patch        similar-segment patching: the stretch of the same recording whose surroundings best
               match the gap's surroundings (normalised cross-correlation on both sides) is copied in,
               level-matched, and blended into the predictions at its edges. Best for longer dropouts in
               repetitive material.
"auto" interpolates gaps up to 100 ms and patches longer ones (falling back to interpolation when no
segment matches well). Only samples inside the region change: everything outside is bit-exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import EarshotError
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

AUTO_PATCH_ABOVE_S = 0.1
MIN_MATCH = 0.6  # normalised correlation below which a patch is not trusted
MAX_GAP_S = 10.0


def _lpc(x: np.ndarray, order: int) -> np.ndarray:
    """AR coefficients [1, a1..ap] by the autocorrelation method (stable by construction)."""
    from scipy import linalg  # lazily: a 1 s import, and every command loads the registry

    x = x - np.mean(x)
    w = x * np.hanning(len(x))
    nfft = 1 << int(np.ceil(np.log2(2 * len(w))))
    r = np.fft.irfft(np.abs(np.fft.rfft(w, nfft)) ** 2, nfft)[: order + 1]  # autocorrelation via FFT
    if r[0] <= 0:
        return np.array([1.0])
    r = r.copy()
    r[0] *= 1.0 + 1e-6  # a touch of white-noise correction keeps the system well conditioned
    a = linalg.solve_toeplitz(r[:order], -r[1 : order + 1])
    return np.concatenate([[1.0], a])


def _predict(context: np.ndarray, n: int, order: int) -> np.ndarray:
    """Continue `context` by n samples with its AR model (the all-pole filter run on zero input)."""
    from scipy import signal  # lazily: a 1 s import, and every command loads the registry

    if len(context) < 8 or n <= 0:
        return np.zeros(n)
    order = max(2, min(order, len(context) // 4))
    a = _lpc(context, order)
    p = len(a) - 1
    zi = signal.lfiltic([1.0], a, y=context[::-1][:p])
    y, _ = signal.lfilter([1.0], a, np.zeros(n), zi=zi)
    return y


def _context_len(gap: int, rate: int) -> int:
    return int(min(max(4 * gap, int(0.1 * rate)), int(1.0 * rate)))


def _order(gap: int, rate: int) -> int:
    return int(min(max(rate // 250, 2 * gap // 3), rate // 40))  # 4 ms of lags … 25 ms


def interpolate(x: np.ndarray, a: int, b: int, rate: int) -> np.ndarray:
    """AR interpolation of x[a:b] (one channel) from both sides; returns the gap's new samples."""
    g = b - a
    ctx = _context_len(g, rate)
    order = _order(g, rate)
    left, right = x[max(0, a - ctx) : a], x[b : b + ctx]
    fwd = _predict(left, g, order) if len(left) >= 8 else None
    bwd = _predict(right[::-1], g, order)[::-1] if len(right) >= 8 else None
    if fwd is None and bwd is None:
        return np.zeros(g)
    if fwd is None:
        return bwd
    if bwd is None:
        return fwd
    w = np.cos(0.5 * np.pi * (np.arange(g) + 0.5) / g) ** 2  # 1 → 0 across the gap
    return w * fwd + (1 - w) * bwd


def _ncc(x: np.ndarray, template: np.ndarray) -> np.ndarray:
    """Normalised cross-correlation of template against every position of x ('valid' lags)."""
    from scipy import signal

    m = len(template)
    t = template - template.mean()
    num = signal.fftconvolve(x, t[::-1], mode="valid")
    c1 = np.concatenate([[0.0], np.cumsum(x)])
    c2 = np.concatenate([[0.0], np.cumsum(x * x)])
    s1 = c1[m:] - c1[:-m]
    s2 = c2[m:] - c2[:-m]
    var = np.maximum(s2 - s1 * s1 / m, 1e-20)
    return num / (np.sqrt(var) * (np.linalg.norm(t) + 1e-20))


def find_patch(mono: np.ndarray, a: int, b: int, rate: int) -> tuple[int, float]:
    """Start of the best replacement for mono[a:b], and its match score (mean NCC of both sides)."""
    g = b - a
    c = int(min(max(g // 2, int(0.03 * rate)), int(0.5 * rate)))
    left_t, right_t = mono[max(0, a - c) : a], mono[b : b + c]
    n = len(mono)
    starts = np.arange(0, n - g + 1)
    score = np.zeros(len(starts))
    parts = 0
    if len(left_t) == c:
        ncc_l = _ncc(mono, left_t)  # ncc_l[i]: template at mono[i:i+c]
        idx = starts - c
        ok = (idx >= 0) & (idx < len(ncc_l))
        score += np.where(ok, ncc_l[np.clip(idx, 0, len(ncc_l) - 1)], -1)
        parts += 1
    if len(right_t) == c:
        ncc_r = _ncc(mono, right_t)
        idx = starts + g
        ok = (idx >= 0) & (idx < len(ncc_r))
        score += np.where(ok, ncc_r[np.clip(idx, 0, len(ncc_r) - 1)], -1)
        parts += 1
    if parts == 0:
        return -1, -1.0
    score /= parts
    # The candidate and its surroundings must not touch the damaged region.
    lo, hi = a - g - 2 * c, b + c
    score[(starts > lo) & (starts < hi)] = -np.inf
    best = int(np.argmax(score))
    return int(starts[best]), float(score[best])


def patch(x: np.ndarray, a: int, b: int, rate: int, start: int) -> np.ndarray:
    """x[start:start+g], level-matched to the gap's surroundings and blended into the AR predictions
    at both edges (5 ms or a quarter of the gap) so the seams stay continuous."""
    g = b - a
    c = int(min(max(g // 2, int(0.03 * rate)), int(0.5 * rate)))
    src = x[start : start + g].astype(np.float64)
    around_gap = np.concatenate([x[max(0, a - c) : a], x[b : b + c]])
    around_src = np.concatenate([x[max(0, start - c) : start], x[start + g : start + g + c]])
    gain = np.sqrt((np.mean(around_gap**2) + 1e-20) / (np.mean(around_src**2) + 1e-20))
    src *= np.clip(gain, 0.25, 4.0)
    fade = max(1, min(int(0.005 * rate), g // 4))
    guess = interpolate(x, a, b, rate)
    ramp = np.sin(0.5 * np.pi * (np.arange(fade) + 0.5) / fade) ** 2
    out = src.copy()
    out[:fade] = (1 - ramp) * guess[:fade] + ramp * src[:fade]
    out[-fade:] = ramp[::-1] * src[-fade:] + (1 - ramp[::-1]) * guess[-fade:]
    return out


def inpaint(
    audio: np.ndarray, rate: int, start_s: float, end_s: float, method: str = "auto"
) -> tuple[np.ndarray, str, float | None]:
    """audio (frames, channels) → (repaired copy, method used, patch match score or None)."""
    a, b = int(round(start_s * rate)), int(round(end_s * rate))
    n = audio.shape[0]
    if not 0 <= a < b <= n:
        raise EarshotError(
            f"the region {start_s:g}–{end_s:g} s is not inside the file (0–{n / rate:.2f} s)",
            "give a start and end time inside the file, start before end",
        )
    if a == 0 and b == n:
        raise EarshotError("the region covers the whole file: nothing is left to fill it from", "give a shorter region")
    out = audio.copy()
    g = b - a
    used, score = method, None
    if method in ("auto", "patch") and (method == "patch" or g > AUTO_PATCH_ABOVE_S * rate):
        start, score = find_patch(audio.mean(axis=1).astype(np.float64), a, b, rate)
        if start >= 0 and (score >= MIN_MATCH or method == "patch"):
            for ch in range(audio.shape[1]):
                out[a:b, ch] = patch(audio[:, ch].astype(np.float64), a, b, rate, start)
            return out, "patch", score
        used = "interpolate"
    used = "interpolate" if used == "auto" else used
    for ch in range(audio.shape[1]):
        out[a:b, ch] = interpolate(audio[:, ch].astype(np.float64), a, b, rate)
    return out, used, score


@dataclass
class Args:
    file: Artifact
    start_s: float = field(metadata={"min": 0, "max": 36000, "doc": "start of the damaged region"})
    end_s: float = field(metadata={"min": 0, "max": 36000, "doc": "end of the damaged region"})
    method: Literal["auto", "interpolate", "patch"] = field(
        default="auto",
        metadata={"doc": "interpolate: short clicks; patch: long dropouts, copied from a similar passage"},
    )


SPEC = ToolSpec(
    name="inpaint",
    doing="repairing {file}",
    summary="repair a dropout, click or cough between two times by filling it in",
    examples=(
        "fill the dropout in take2.wav from 3.2 to 3.5 s",
        "remove the click at 1.04 s",
        "get rid of the cough between 12.1 and 12.6 seconds",
    ),
    method="LPC interpolation and similar-segment patching (signal processing)",
    learned=False,
    licence="GPL-3.0-or-later (Earshot's own code; numpy/scipy BSD)",
    timeout_s=120,
    max_memory_mb=2048,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    if args.end_s - args.start_s > MAX_GAP_S:
        raise EarshotError(
            f"a region of {args.end_s - args.start_s:g} s is too long to fill in (at most {MAX_GAP_S:g} s)",
            "cut the passage out with edit instead",
        )
    audio, rate = ctx.load_audio(args.file, mono=False)
    ctx.progress(0.1, "filling in")
    out, used, score = inpaint(audio, rate, args.start_s, args.end_s, args.method)
    art = ctx.new_audio_artifact(
        out if out.shape[1] > 1 else out[:, 0],
        rate,
        f"{stem_of(args.file)}-repaired",
        parents=[args.file],
        meta={"start_s": args.start_s, "end_s": args.end_s, "method": used},
    )
    how = "LPC interpolation" if used == "interpolate" else f"a similar passage (match {score:.2f})"
    note = (
        " (no passage matched well enough to patch, so it was interpolated)"
        if (args.method == "auto" and used == "interpolate" and score is not None)
        else ""
    )
    return ToolResult(
        f"Filled {args.start_s:g}–{args.end_s:g} s of {args.file.name} with {how}{note} — signal "
        f"processing; the rest is untouched → {art.name}.",
        [art],
        {"method": used, "match": score},
    )
