"""effects: an effect chain (EQ, filters, compressor, gate, reverb, delay, chorus, distortion, pitch shift,
time stretch, limiter, gain) with pedalboard, plus a user's VST3 plugin by path.

The chain is one short string with a strict grammar, compact for the planner to write:

    chain   := effect (SEP effect)*            SEP is "," ";" "->" or "then"
    effect  := NAME value*                     at most as many values as the effect takes, in order
    value   := NUMBER UNIT?                    "3000", "3 kHz", "-6dB", "+3 st", "250 ms", "1.5x", "40%"

e.g. "highpass 120, compressor -18 3, eq 3000 +2, reverb 0.4, limiter -1". Unknown names, too many
values, a unit that does not fit ("reverb 3 kHz") or a value out of range are refused with a message
naming the effect and what it takes. The table below is the grammar's vocabulary.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import EarshotError, PathRefused
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of


@dataclass(frozen=True)
class Param:
    name: str
    unit: str  # "hz" | "db" | "s" | "st" | "x" | "" (a plain number)
    default: float | None  # None: the value must be given
    lo: float
    hi: float


@dataclass(frozen=True)
class Effect:
    name: str
    aliases: tuple[str, ...]
    params: tuple[Param, ...]
    doc: str


EFFECTS: dict[str, Effect] = {
    e.name: e
    for e in (
        Effect("gain", ("volume", "level"), (Param("gain_db", "db", None, -60, 24),), "gain DB"),
        Effect(
            "lowpass",
            ("low pass", "lpf", "low cut filter", "high cut"),
            (Param("cutoff_hz", "hz", 3000, 20, 20000),),
            "lowpass HZ (3000)",
        ),
        Effect(
            "highpass",
            ("high pass", "hpf", "low cut"),
            (Param("cutoff_hz", "hz", 100, 20, 20000),),
            "highpass HZ (100)",
        ),
        Effect(
            "bass", ("low shelf", "lowshelf"), (Param("gain_db", "db", 4, -24, 24),), "bass DB (+4; shelf at 200 Hz)"
        ),
        Effect(
            "treble",
            ("high shelf", "highshelf"),
            (Param("gain_db", "db", 4, -24, 24),),
            "treble DB (+4; shelf at 4 kHz)",
        ),
        Effect(
            "eq",
            ("equalizer", "equaliser", "peak", "bell"),
            (
                Param("freq_hz", "hz", None, 20, 20000),
                Param("gain_db", "db", None, -24, 24),
                Param("q", "", 1.0, 0.1, 10),
            ),
            "eq HZ DB [Q]",
        ),
        Effect(
            "compressor",
            ("compression", "compress", "comp"),
            (Param("threshold_db", "db", -20, -60, 0), Param("ratio", "x", 4, 1, 20)),
            "compressor [DB -20] [RATIO 4]",
        ),
        Effect("gate", ("noise gate", "noisegate"), (Param("threshold_db", "db", -45, -90, 0),), "gate [DB -45]"),
        Effect(
            "reverb",
            ("reverberation", "room", "hall"),
            (Param("size", "", 0.5, 0, 1), Param("wet", "", 0.33, 0, 1)),
            "reverb [SIZE 0..1] [WET 0..1]",
        ),
        Effect(
            "delay",
            ("echo",),
            (Param("time_s", "s", 0.25, 0.01, 2), Param("feedback", "", 0.35, 0, 0.95)),
            "delay [SECONDS 0.25] [FEEDBACK 0.35]",
        ),
        Effect(
            "chorus",
            (),
            (Param("rate_hz", "hz", 1.0, 0.05, 10), Param("depth", "", 0.25, 0, 1)),
            "chorus [RATE_HZ 1] [DEPTH 0.25]",
        ),
        Effect(
            "distortion",
            ("overdrive", "drive", "fuzz", "saturation", "distort"),
            (Param("drive_db", "db", 20, 0, 60),),
            "distortion [DRIVE_DB 20]",
        ),
        Effect(
            "pitch",
            ("pitch shift", "pitchshift", "transpose"),
            (Param("semitones", "st", None, -24, 24),),
            "pitch SEMITONES (length kept)",
        ),
        Effect(
            "stretch",
            ("time stretch", "timestretch", "slow down", "tempo"),
            (Param("factor", "x", None, 0.25, 4),),
            "stretch FACTOR (2 = twice as long, pitch kept)",
        ),
        Effect(
            "limiter",
            ("limit", "limiting"),
            (Param("ceiling_db", "db", -1, -30, 0),),
            "limiter [CEILING_DB -1] (true peak)",
        ),
        Effect("vst3", ("plugin",), (), "vst3 (the plugin given by path)"),
    )
}

_ALIASES = sorted(
    ((alias, e.name) for e in EFFECTS.values() for alias in (e.name, *e.aliases)), key=lambda p: -len(p[0])
)
_SEP = re.compile(r"\s*(?:,|;|->|→|\bthen\b|\band\b)\s*")
_VALUE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))\s*(khz|hz|db|ms|s|sec|seconds?|st|semitones?|x|%|:1)?$")
_UNITS = {
    "khz": ("hz", 1000.0),
    "hz": ("hz", 1.0),
    "db": ("db", 1.0),
    "ms": ("s", 0.001),
    "s": ("s", 1.0),
    "sec": ("s", 1.0),
    "second": ("s", 1.0),
    "seconds": ("s", 1.0),
    "st": ("st", 1.0),
    "semitone": ("st", 1.0),
    "semitones": ("st", 1.0),
    "x": ("x", 1.0),
    ":1": ("x", 1.0),
    "%": ("", 0.01),
}
MAX_EFFECTS = 12


@dataclass(frozen=True)
class Stage:
    effect: str
    values: dict[str, float]

    def describe(self) -> str:
        shown = " ".join(f"{v:g}" for v in self.values.values())
        return f"{self.effect} {shown}".strip()


def grammar_help() -> str:
    return "; ".join(e.doc for e in EFFECTS.values())


def parse_chain(text: str) -> list[Stage]:
    """The chain string → stages, or EarshotError naming the first problem."""
    parts = [p.strip() for p in _SEP.split(text.strip().lower()) if p and p.strip()]
    if not parts:
        raise EarshotError("the effect chain is empty", "name effects, e.g. \"reverb 0.4, limiter -1\"")
    if len(parts) > MAX_EFFECTS:
        raise EarshotError(f"the chain has {len(parts)} effects; at most {MAX_EFFECTS}", "shorten the chain")
    stages = []
    for part in parts:
        norm = re.sub(r"(?<=[a-z])[-_]+(?=[a-z])", " ", part)  # "low-pass", "pitch_shift"; not "-18"
        norm = re.sub(r"\s+", " ", norm).strip()
        match = next(
            (
                (alias, name)
                for alias, name in _ALIASES
                if norm == alias or norm.startswith(alias + " ") or re.match(re.escape(alias) + r"[+\-\d.]", norm)
            ),
            None,
        )
        if match is None:
            raise EarshotError(f"unknown effect {part!r}", f"effects: {', '.join(EFFECTS)}")
        alias, name = match
        effect = EFFECTS[name]
        rest = norm[len(alias) :].strip()
        # "by", "to", "of", "at" may sit between a name and its value ("pitch shift by +3 semitones")
        tokens = [
            t
            for t in re.findall(
                r"[+-]?(?:\d+\.?\d*|\.\d+)\s*(?:khz|hz|db|ms|sec|seconds?|semitones?|st|s|x|%|:1)?"
                r"|\S+",
                rest,
            )
            if t not in ("by", "to", "of", "at", "with")
        ]
        if len(tokens) > len(effect.params):
            raise EarshotError(
                f"{part!r}: {name} takes at most {len(effect.params)} value(s)", f"write it as: {effect.doc}"
            )
        values: dict[str, float] = {}
        for param, token in zip(effect.params, tokens):
            m = _VALUE.match(token.replace(" ", ""))
            if not m:
                raise EarshotError(
                    f"{part!r}: {token!r} is not a number for {param.name}", f"write it as: {effect.doc}"
                )
            number = float(m.group(1))
            if m.group(2):
                unit, scale = _UNITS[m.group(2)]
                if unit and unit != param.unit and not (param.unit == "" and unit == "x"):
                    raise EarshotError(f"{part!r}: {param.name} is not in {m.group(2)}", f"write it as: {effect.doc}")
                number *= scale
            values[param.name] = number
        for param in effect.params[len(tokens) :]:
            if param.default is None:
                raise EarshotError(f"{part!r}: {name} needs {param.name}", f"write it as: {effect.doc}")
            values[param.name] = float(param.default)
        for param in effect.params:
            v = values[param.name]
            if not param.lo <= v <= param.hi:
                raise EarshotError(
                    f"{part!r}: {param.name} must be between {param.lo:g} and {param.hi:g}, got {v:g}",
                    f"write it as: {effect.doc}",
                )
        stages.append(Stage(name, values))
    return stages


# -- plugins ----------------------------------------------------------------------------------------
def standard_vst3_dirs() -> tuple[Path, ...]:
    """Where the VST3 specification says Linux plugins are installed (the user's and the system's)."""
    return (Path("~/.vst3").expanduser(), Path("/usr/lib/vst3"), Path("/usr/local/lib/vst3"))


def resolve_plugin(path_text: str, ctx: ToolContext) -> Path:
    """A plugin path inside the workspace, an allowed root or a standard VST3 folder; refused otherwise
    (loading a plugin runs its native code, so it must come from a place the user chose)."""
    raw = Path(path_text.strip()).expanduser()
    candidate = (raw if raw.is_absolute() else ctx.session.workspace / raw).resolve()
    roots = (
        ctx.session.workspace.resolve(),
        *ctx.config.paths.allowed_roots,
        *(p.resolve() for p in standard_vst3_dirs()),
    )
    if not any(candidate == r or candidate.is_relative_to(r) for r in roots):
        raise PathRefused(
            f"the plugin {path_text!r} is outside the allowed folders (the workspace, allowed_roots, "
            f"~/.vst3, /usr/lib/vst3, /usr/local/lib/vst3)",
            "copy the plugin into the workspace or one of those folders, or add its folder to "
            "allowed_roots in config.toml",
        )
    if candidate.suffix.lower() != ".vst3":
        raise EarshotError(f"{path_text!r} is not a VST3 plugin (a .vst3 bundle or file)", "name a .vst3 plugin")
    if not candidate.exists():
        raise EarshotError(f"no plugin at {path_text!r}", "check the path")
    return candidate


def load_vst3(path: Path):
    import pedalboard

    try:
        return pedalboard.load_plugin(str(path))
    except Exception as exc:  # a broken or foreign bundle: say so, don't crash the session
        raise EarshotError(
            f"could not load the VST3 plugin {path.name}: {str(exc).strip().splitlines()[0][:200]}",
            "check it is a 64-bit Linux VST3 plugin",
        ) from None


# -- processing -------------------------------------------------------------------------------------
def _tail_s(stage: Stage) -> float:
    """Silence appended before a stage so its tail is not cut off."""
    if stage.effect == "reverb":
        return 0.5 + 3.0 * stage.values["size"]
    if stage.effect == "delay":
        fb = max(stage.values["feedback"], 0.05)
        return min(stage.values["time_s"] * (1 + math.log(1e-3) / math.log(fb)), 6.0)
    if stage.effect == "chorus":
        return 0.05
    return 0.0


def _plugin(stage: Stage):
    import pedalboard as pb

    v = stage.values
    return {
        "gain": lambda: pb.Gain(gain_db=v.get("gain_db", 0.0)),
        "lowpass": lambda: pb.LowpassFilter(cutoff_frequency_hz=v.get("cutoff_hz", 0.0)),
        "highpass": lambda: pb.HighpassFilter(cutoff_frequency_hz=v.get("cutoff_hz", 0.0)),
        "bass": lambda: pb.LowShelfFilter(cutoff_frequency_hz=200, gain_db=v.get("gain_db", 0.0)),
        "treble": lambda: pb.HighShelfFilter(cutoff_frequency_hz=4000, gain_db=v.get("gain_db", 0.0)),
        "eq": lambda: pb.PeakFilter(
            cutoff_frequency_hz=v.get("freq_hz", 0.0), gain_db=v.get("gain_db", 0.0), q=v.get("q", 1.0)
        ),
        "compressor": lambda: pb.Compressor(
            threshold_db=v.get("threshold_db", 0.0), ratio=v.get("ratio", 1.0), attack_ms=5, release_ms=120
        ),
        "gate": lambda: pb.NoiseGate(threshold_db=v.get("threshold_db", 0.0), ratio=10, attack_ms=1, release_ms=100),
        "reverb": lambda: pb.Reverb(
            room_size=v.get("size", 0.0),
            wet_level=v.get("wet", 0.0),
            dry_level=1.0 - 0.5 * v.get("wet", 0.0),
            damping=0.4,
        ),
        "delay": lambda: pb.Delay(delay_seconds=v.get("time_s", 0.0), feedback=v.get("feedback", 0.0), mix=0.35),
        "chorus": lambda: pb.Chorus(rate_hz=v.get("rate_hz", 0.0), depth=v.get("depth", 0.0), mix=0.5),
        "distortion": lambda: pb.Distortion(drive_db=v.get("drive_db", 0.0)),
    }[stage.effect]()


def true_peak(x: np.ndarray) -> float:
    """Inter-sample peak (4× oversampled), linear."""
    from scipy.signal import resample_poly

    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(resample_poly(x, 4, 1, axis=0))))


def limit(x: np.ndarray, rate: int, ceiling_db: float) -> np.ndarray:
    """pedalboard's limiter at the ceiling, then a final trim so the *true* peak stays under it."""
    import pedalboard as pb

    y = pb.Pedalboard([pb.Limiter(threshold_db=ceiling_db - 0.3, release_ms=80)])(x.T, rate).T
    ceiling = 10 ** (ceiling_db / 20)
    peak = true_peak(y)
    if peak > ceiling:
        y = y * (ceiling / peak * 10 ** (-0.02 / 20))
    return y.astype(np.float32)


def apply_chain(audio: np.ndarray, rate: int, stages: list[Stage], plugin=None, progress=None) -> np.ndarray:
    """audio (frames, channels) float32 → processed (frames', channels) float32."""
    import pedalboard as pb

    x = np.ascontiguousarray(audio, dtype=np.float32)
    for i, stage in enumerate(stages):
        if progress:
            progress(i / len(stages), stage.effect)
        if stage.effect == "pitch":
            x = np.stack([_pitch(x[:, c], rate, stage.values["semitones"]) for c in range(x.shape[1])], axis=1)
        elif stage.effect == "stretch":
            x = np.stack([_stretch(x[:, c], rate, stage.values["factor"]) for c in range(x.shape[1])], axis=1)
        elif stage.effect == "limiter":
            x = limit(x, rate, stage.values["ceiling_db"])
        elif stage.effect == "vst3":
            if plugin is None:
                raise EarshotError("the chain says vst3 but no plugin path was given", "give the plugin's .vst3 path")
            x = np.ascontiguousarray(plugin(x.T, rate).T, dtype=np.float32)
        else:
            tail = int(_tail_s(stage) * rate)
            if tail:
                x = np.concatenate([x, np.zeros((tail, x.shape[1]), np.float32)])
            board = pb.Pedalboard([_plugin(stage)])
            x = np.ascontiguousarray(board(x.T, rate).T, dtype=np.float32)
            if tail:
                x = _trim_tail(x, len(x) - tail)
    return x


def _trim_tail(x: np.ndarray, keep_at_least: int, floor_db: float = -90.0) -> np.ndarray:
    """Drop appended samples once the tail has decayed below the floor."""
    level = np.max(np.abs(x), axis=1)
    loud = np.nonzero(level > 10 ** (floor_db / 20))[0]
    end = max(keep_at_least, (loud[-1] + 1) if loud.size else 0)
    return x[:end]


def _pitch(x: np.ndarray, rate: int, semitones: float) -> np.ndarray:
    import pedalboard as pb

    y = pb.time_stretch(
        x.astype(np.float32), rate, 1.0, pitch_shift_in_semitones=semitones, high_quality=True, preserve_formants=False
    )
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    return _fit(y, len(x))


def _stretch(x: np.ndarray, rate: int, factor: float) -> np.ndarray:
    import pedalboard as pb

    # pedalboard's stretch_factor is a speed (2 = half as long); ours is a length factor.
    y = pb.time_stretch(x.astype(np.float32), rate, 1.0 / factor, high_quality=True)
    return _fit(np.asarray(y, dtype=np.float32).reshape(-1), int(round(len(x) * factor)))


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    return y[:n] if len(y) >= n else np.concatenate([y, np.zeros(n - len(y), np.float32)])


# -- the tool ---------------------------------------------------------------------------------------
@dataclass
class Args:
    file: Artifact
    chain: str = field(
        metadata={
            "max_length": 200,
            "doc": (
                'effects in order, comma-separated, each a name and optional values: "highpass 120, compressor -18 3, '
                'reverb 0.4, limiter -1". Names: gain DB, lowpass HZ, highpass HZ, bass DB, treble DB, eq HZ DB, '
                'compressor DB RATIO, gate DB, reverb SIZE, delay SECONDS FEEDBACK, chorus, distortion DB, pitch SEMITONES, '  # noqa: E501
                'stretch FACTOR, limiter DB, vst3'
            ),
        }
    )
    # Named for what it holds: the routing bench showed a field called "plugin" being filled with
    # effect names ("reverb") by the planner.
    vst3_path: str = field(
        default="", metadata={"max_length": 300, "doc": "only for a user's VST3 plugin: its .vst3 path; else empty"}
    )


SPEC = ToolSpec(
    name="effects",
    doing="adding effects to {file}",
    summary='apply effects, chain like "highpass 100, eq 3000 +2, compressor, reverb 0.4, delay 0.25, chorus, '
    'distortion, pitch 3, stretch 1.5, limiter -1"',
    examples=(
        "add reverb to vocals.wav",
        "pitch it up 3 semitones",
        "compress and limit the mix to -1 dB",
        "slow song.wav down to 1.5 times as long",
        "run take2.wav through ~/.vst3/Delay.vst3",
    ),
    method="pedalboard effects (signal processing; Rubber Band for pitch and time)",
    learned=False,
    licence="GPL-3.0 (pedalboard)",
    timeout_s=600,
    max_memory_mb=3072,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    stages = parse_chain(args.chain)
    plugin, ignored = None, ""
    if args.vst3_path.strip():
        named = any(s.effect == "vst3" for s in stages)
        try:
            path = resolve_plugin(args.vst3_path, ctx)
        except PathRefused:
            raise
        except EarshotError:
            # A planner sometimes invents a plugin path for a built-in effect ("reverb" →
            # "Reverb.vst3"); when the chain never asked for vst3, a missing file is ignored and said so.
            if named:
                raise
            path, ignored = None, f"; no plugin at {args.vst3_path!r}, so none was used"
        if path is not None:
            if not named:
                stages.append(Stage("vst3", {}))
            plugin = load_vst3(path)
    elif any(s.effect == "vst3" for s in stages):
        raise EarshotError("the chain says vst3 but no plugin path was given", "give the plugin's .vst3 path")
    audio, rate = ctx.load_audio(args.file, mono=False)
    out = apply_chain(audio, rate, stages, plugin, progress=lambda f, m: ctx.progress(f, m))
    if not np.all(np.isfinite(out)):
        raise EarshotError("the effect chain produced invalid samples (NaN)", "try gentler settings")
    described = ", ".join(s.describe() for s in stages)
    art = ctx.new_audio_artifact(
        out if out.shape[1] > 1 else out[:, 0],
        rate,
        f"{stem_of(args.file)}-fx",
        parents=[args.file],
        meta={"chain": described, "vst3_path": args.vst3_path or None},
    )
    peak_db = 20 * math.log10(max(true_peak(out), 1e-12))
    note = f"; it peaks at {peak_db:+.1f} dBFS (kept in the float WAV)" if peak_db > 0 else ""
    return ToolResult(
        f"Applied {described} to {args.file.name} (pedalboard, signal processing) → {art.name} "
        f"({art.duration_s:.1f} s){note}{ignored}.",
        [art],
        {"chain": described},
    )
