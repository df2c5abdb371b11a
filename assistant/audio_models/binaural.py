"""binaural: place a mono sound at an azimuth/elevation around the listener's head, or move it.

The structural spherical-head model of Brown & Duda (1998), signal processing:
  - interaural time difference: each ear hears the source late by the extra path around a sphere of
    radius 8.75 cm (Woodworth's formula for the difference between the ears);
  - interaural level difference: a first-order head-shadow filter per ear whose high-frequency gain
    runs from +6 dB (facing the source) to -20 dB (the far side, 150° from it);
  - elevation: the model's pinna echoes (five short reflections whose delays change with elevation).
No HRTF set is used: slab (MIT) ships the MIT KEMAR set, but as a pickle of its own classes; the
model needs no data, works at every angle and moves smoothly.

Azimuth 0 is straight ahead, +90 the right ear, -90 the left, ±180 behind; elevation +90 overhead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import EarshotError
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

HEAD_RADIUS_M = 0.0875
SPEED_OF_SOUND_M_S = 343.0
ALPHA_MIN, THETA_MIN_DEG = 0.1, 150.0
# Pinna echoes (Brown & Duda 1998, table I): reflection coefficient, A, B (samples at 44.1 kHz), D.
PINNA = (
    (0.5, 1.0, 2.0, 1.0),
    (-1.0, 5.0, 4.0, 0.5),
    (0.5, 5.0, 7.0, 0.5),
    (-0.25, 5.0, 11.0, 0.5),
    (0.25, 5.0, 13.0, 0.5),
)
BLOCK = 256


def _direction(azimuth_deg, elevation_deg):
    az, el = np.deg2rad(azimuth_deg), np.deg2rad(elevation_deg)
    return np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)  # front, right, up


def incidence_rad(azimuth_deg, elevation_deg, ear: int):
    """Angle between the source direction and the ear's axis (ear +1 right, -1 left): 0 = facing it."""
    _, right, _ = _direction(azimuth_deg, elevation_deg)
    return np.arccos(np.clip(ear * right, -1.0, 1.0))


def ear_delay_s(theta_inc):
    """Brown-Duda path delay to one ear (relative to the head's centre), seconds."""
    a_c = HEAD_RADIUS_M / SPEED_OF_SOUND_M_S
    return np.where(theta_inc < np.pi / 2, -a_c * np.cos(theta_inc), a_c * (theta_inc - np.pi / 2))


def shadow_alpha(theta_inc):
    return (1 + ALPHA_MIN / 2) + (1 - ALPHA_MIN / 2) * np.cos(theta_inc / np.deg2rad(THETA_MIN_DEG) * np.pi)


def shadow_filter(alpha: float, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """H(s) = (1 + α τ s) / (1 + τ s), τ = a / 2c, by the bilinear transform."""
    tau = HEAD_RADIUS_M / (2 * SPEED_OF_SOUND_M_S)
    k = 2 * rate
    b = np.array([1 + alpha * tau * k, 1 - alpha * tau * k])
    a = np.array([1 + tau * k, 1 - tau * k])
    return b / a[0], a / a[0]


def _pinna_delays(azimuth_deg, elevation_deg, ear: int, rate: int):
    """Delays in samples of the pinna echoes for one ear (the left ear mirrors the azimuth)."""
    th = np.deg2rad(np.asarray(azimuth_deg) * ear)
    ph = np.deg2rad(np.clip(elevation_deg, -90, 90))
    scale = rate / 44_100
    return [(rho, (A * np.cos(th / 2) * np.sin(D * (np.pi / 2 - ph)) + B) * scale) for rho, A, B, D in PINNA]


def _delayed(x: np.ndarray, delay_samples: np.ndarray) -> np.ndarray:
    """x(t - d(t)) with linear interpolation (d may vary per sample)."""
    t = np.arange(len(x)) - delay_samples
    return np.interp(t, np.arange(len(x)), x, left=0.0, right=0.0)


def render_ear(x: np.ndarray, rate: int, azimuth_deg: np.ndarray, elevation_deg: np.ndarray, ear: int) -> np.ndarray:
    """One ear's signal; azimuth/elevation are per-sample arrays (constant for a still source)."""
    from scipy import signal  # lazily: a 1 s import, and every command loads the registry

    n = len(x)
    # Pinna: the direct sound plus five short echoes (delays of a few samples), quieter overall by their sum.
    y = x.copy()
    for rho, delay in _pinna_delays(azimuth_deg, elevation_deg, ear, rate):
        y += 0.5 * rho * _delayed(x, np.broadcast_to(delay, (n,)))
    theta = incidence_rad(azimuth_deg, elevation_deg, ear)
    # Head shadow, blockwise so a moving source's filter follows it (state carried across blocks).
    alpha = np.broadcast_to(shadow_alpha(theta), (n,))
    if np.ptp(alpha) < 1e-9:
        b, a = shadow_filter(float(alpha[0]), rate)
        y = signal.lfilter(b, a, y)
    else:
        out = np.empty(n)
        zi = np.zeros(1)
        for start in range(0, n, BLOCK):
            stop = min(start + BLOCK, n)
            b, a = shadow_filter(float(alpha[(start + stop) // 2]), rate)
            out[start:stop], zi = signal.lfilter(b, a, y[start:stop], zi=zi)
        y = out
    # Interaural delay: a constant offset keeps every ear's delay positive (causal).
    delay = (ear_delay_s(theta) + HEAD_RADIUS_M / SPEED_OF_SOUND_M_S) * rate
    return _delayed(y, np.broadcast_to(delay, (n,)))


def spatialise(
    mono: np.ndarray,
    rate: int,
    azimuth_deg: float,
    elevation_deg: float = 0.0,
    end_azimuth_deg: float | None = None,
    end_elevation_deg: float | None = None,
) -> np.ndarray:
    """mono (frames,) → binaural (frames, 2) [left, right]; a moving source when an end is given."""
    n = len(mono)
    x = mono.astype(np.float64)
    if end_azimuth_deg is None and end_elevation_deg is None:
        az = np.float64(azimuth_deg)
        el = np.float64(elevation_deg)
    else:
        ramp = np.linspace(0.0, 1.0, n)
        az = azimuth_deg + ramp * ((end_azimuth_deg if end_azimuth_deg is not None else azimuth_deg) - azimuth_deg)
        el = elevation_deg + ramp * (
            (end_elevation_deg if end_elevation_deg is not None else elevation_deg) - elevation_deg
        )
    left = render_ear(x, rate, az, el, -1)
    right = render_ear(x, rate, az, el, +1)
    return np.stack([left, right], axis=1)


@dataclass
class Args:
    file: Artifact
    azimuth_deg: float = field(
        default=90.0, metadata={"min": -180, "max": 180, "doc": "0 front, 90 right, -90 left, 180 behind"}
    )
    elevation_deg: float = field(default=0.0, metadata={"min": -40, "max": 90, "doc": "90 is overhead"})
    end_azimuth_deg: float | None = field(
        default=None, metadata={"min": -180, "max": 180, "doc": "moving source: the azimuth it ends at"}
    )
    end_elevation_deg: float | None = field(default=None, metadata={"min": -40, "max": 90})


SPEC = ToolSpec(
    name="binaural",
    doing="placing {file} around your head",
    summary="place a sound around the listener's head for headphones (3D), or move it",
    examples=(
        "put the voice on my left",
        "make the bird fly from left to right over headphones",
        "binaural render of the bell at 45 degrees right and above",
    ),
    method="spherical-head model: ITD, head-shadow ILD filter, pinna echoes (Brown & Duda 1998; signal processing)",
    learned=False,
    licence="GPL-3.0-or-later (Earshot's own code)",
    timeout_s=300,
    max_memory_mb=2048,
)


def _where(az: float, el: float) -> str:
    side = "ahead" if abs(az) < 15 else "behind" if abs(az) > 165 else ("right" if az > 0 else "left")
    text = f"{az:+g}° ({side})"
    return text + (f", {el:+g}° up" if el else "")


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    audio, rate = ctx.load_audio(args.file, mono=False)
    if rate < 16_000:
        raise EarshotError(
            f"{args.file.name} is sampled at {rate} Hz; binaural cues need at least 16 kHz",
            "resample it with edit first",
        )
    note = " (its channels were mixed to mono first)" if audio.shape[1] > 1 else ""
    mono = audio.mean(axis=1)
    ctx.progress(0.2, "rendering")
    out = spatialise(mono, rate, args.azimuth_deg, args.elevation_deg, args.end_azimuth_deg, args.end_elevation_deg)
    peak = float(np.max(np.abs(out)))
    if peak > 0.999:  # the near ear's high-shelf gain can push peaks over full scale
        out *= 0.891 / peak
        note += "; it was turned down to peak at -1 dBFS"
    end_az = args.end_azimuth_deg if args.end_azimuth_deg is not None else args.azimuth_deg
    end_el = args.end_elevation_deg if args.end_elevation_deg is not None else args.elevation_deg
    # An end equal to the start (a planner filling every field) is a fixed place, not a move.
    moving = (end_az, end_el) != (args.azimuth_deg, args.elevation_deg)
    where = (
        f"moving from {_where(args.azimuth_deg, args.elevation_deg)} to {_where(end_az, end_el)}"
        if moving
        else f"at {_where(args.azimuth_deg, args.elevation_deg)}"
    )
    art = ctx.new_audio_artifact(
        out.astype(np.float32),
        rate,
        f"{stem_of(args.file)}-binaural",
        parents=[args.file],
        meta={
            "azimuth_deg": args.azimuth_deg,
            "elevation_deg": args.elevation_deg,
            "end_azimuth_deg": args.end_azimuth_deg,
            "end_elevation_deg": args.end_elevation_deg,
        },
    )
    return ToolResult(
        f"Placed {args.file.name} {where} for headphones with a spherical-head model (signal "
        f"processing){note} → {art.name}.",
        [art],
        {"moving": moving},
    )
