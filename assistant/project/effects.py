"""The effects a track (or the master) can hold: pedalboard plugins with named, bounded parameters.

Parameter names carry their units (`cutoff_hz`, `attack_ms`, `gain_db`) and map to pedalboard's
attribute names; `aliases` are the words people use for them ("size", "cutoff", "mix"), so
"make the reverb bigger" can name a parameter loosely. Everything here is plain data until
`build_board` imports pedalboard (signal processing, GPL-3.0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import EarshotError


@dataclass(frozen=True)
class Param:
    default: float
    lo: float
    hi: float
    unit: str  # DAWproject unit: normalized | decibel | hertz | seconds | linear | semitones
    attr: str = ""  # pedalboard attribute ("" = same as the name)
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class EffectType:
    title: str  # shown in replies and as the DAWproject deviceName
    plugin: str  # pedalboard class (lowpass/highpass cascade `order` first-order stages)
    params: dict[str, Param] = field(default_factory=dict)
    what: str = ""


_MIX = Param(0.5, 0.0, 1.0, "normalized", aliases=("wet", "amount", "blend"))

EFFECTS: dict[str, EffectType] = {
    "reverb": EffectType(
        "Reverb",
        "Reverb",
        {
            "room_size": Param(
                0.5, 0.0, 1.0, "normalized", aliases=("size", "room", "decay", "length", "tail", "time")
            ),
            "damping": Param(0.5, 0.0, 1.0, "normalized", aliases=("damp", "darkness")),
            "wet": Param(0.2, 0.0, 1.0, "normalized", "wet_level", ("mix", "amount", "wet_level", "level")),
            "dry": Param(0.5, 0.0, 1.0, "normalized", "dry_level", ("dry_level",)),
            "width": Param(1.0, 0.0, 1.0, "normalized", aliases=("stereo", "spread")),
        },
        "room reverb (Freeverb)",
    ),
    "delay": EffectType(
        "Delay",
        "Delay",
        {
            "delay_s": Param(0.25, 0.0, 2.0, "seconds", "delay_seconds", ("time", "delay", "length")),
            "feedback": Param(0.3, 0.0, 0.95, "normalized", aliases=("repeats", "regen")),
            "mix": _MIX,
        },
        "echo",
    ),
    "compressor": EffectType(
        "Compressor",
        "Compressor",
        {
            "threshold_db": Param(-18.0, -60.0, 0.0, "decibel", aliases=("threshold",)),
            "ratio": Param(3.0, 1.0, 20.0, "linear", aliases=("amount", "strength")),
            "attack_ms": Param(10.0, 0.1, 500.0, "seconds", aliases=("attack",)),
            "release_ms": Param(120.0, 1.0, 2000.0, "seconds", aliases=("release",)),
        },
        "dynamic range compressor",
    ),
    "limiter": EffectType(
        "Limiter",
        "Limiter",
        {
            "threshold_db": Param(-1.0, -30.0, 0.0, "decibel", aliases=("threshold", "ceiling")),
            "release_ms": Param(100.0, 1.0, 2000.0, "seconds", aliases=("release",)),
        },
        "peak limiter",
    ),
    "noise_gate": EffectType(
        "Noise gate",
        "NoiseGate",
        {
            "threshold_db": Param(-50.0, -100.0, 0.0, "decibel", aliases=("threshold",)),
            "ratio": Param(10.0, 1.0, 100.0, "linear", aliases=("amount",)),
            "attack_ms": Param(1.0, 0.1, 500.0, "seconds", aliases=("attack",)),
            "release_ms": Param(100.0, 1.0, 2000.0, "seconds", aliases=("release",)),
        },
        "noise gate",
    ),
    "lowpass": EffectType(
        "Low-pass",
        "LowpassFilter",
        {
            "cutoff_hz": Param(6000.0, 20.0, 20000.0, "hertz", "cutoff_frequency_hz", ("cutoff", "frequency", "freq")),
            "order": Param(2.0, 1.0, 4.0, "linear", aliases=("slope", "steepness", "poles")),
        },
        "low-pass filter (6 dB/octave per order)",
    ),
    "highpass": EffectType(
        "High-pass",
        "HighpassFilter",
        {
            "cutoff_hz": Param(120.0, 20.0, 20000.0, "hertz", "cutoff_frequency_hz", ("cutoff", "frequency", "freq")),
            "order": Param(2.0, 1.0, 4.0, "linear", aliases=("slope", "steepness", "poles")),
        },
        "high-pass filter (6 dB/octave per order)",
    ),
    "low_shelf": EffectType(
        "Low shelf",
        "LowShelfFilter",
        {
            "cutoff_hz": Param(200.0, 20.0, 20000.0, "hertz", "cutoff_frequency_hz", ("cutoff", "frequency", "freq")),
            "gain_db": Param(3.0, -24.0, 24.0, "decibel", aliases=("gain", "amount", "boost")),
            "q": Param(0.7071, 0.1, 10.0, "linear", aliases=("width", "resonance")),
        },
        "low-shelf EQ",
    ),
    "high_shelf": EffectType(
        "High shelf",
        "HighShelfFilter",
        {
            "cutoff_hz": Param(5000.0, 20.0, 20000.0, "hertz", "cutoff_frequency_hz", ("cutoff", "frequency", "freq")),
            "gain_db": Param(3.0, -24.0, 24.0, "decibel", aliases=("gain", "amount", "boost")),
            "q": Param(0.7071, 0.1, 10.0, "linear", aliases=("width", "resonance")),
        },
        "high-shelf EQ",
    ),
    "peak_eq": EffectType(
        "Peak EQ",
        "PeakFilter",
        {
            "cutoff_hz": Param(
                1000.0, 20.0, 20000.0, "hertz", "cutoff_frequency_hz", ("frequency", "freq", "centre", "center")
            ),
            "gain_db": Param(3.0, -24.0, 24.0, "decibel", aliases=("gain", "amount", "boost")),
            "q": Param(1.0, 0.1, 10.0, "linear", aliases=("width", "resonance")),
        },
        "bell EQ",
    ),
    "chorus": EffectType(
        "Chorus",
        "Chorus",
        {
            "rate_hz": Param(1.0, 0.01, 20.0, "hertz", aliases=("rate", "speed")),
            "depth": Param(0.25, 0.0, 1.0, "normalized", aliases=("amount", "intensity")),
            "centre_delay_ms": Param(7.0, 1.0, 50.0, "seconds", aliases=("delay",)),
            "feedback": Param(0.0, 0.0, 0.95, "normalized"),
            "mix": _MIX,
        },
        "chorus",
    ),
    "phaser": EffectType(
        "Phaser",
        "Phaser",
        {
            "rate_hz": Param(1.0, 0.01, 20.0, "hertz", aliases=("rate", "speed")),
            "depth": Param(0.5, 0.0, 1.0, "normalized", aliases=("amount", "intensity")),
            "centre_frequency_hz": Param(1300.0, 50.0, 10000.0, "hertz", aliases=("frequency", "freq")),
            "feedback": Param(0.0, 0.0, 0.95, "normalized"),
            "mix": _MIX,
        },
        "phaser",
    ),
    "distortion": EffectType(
        "Distortion",
        "Distortion",
        {
            "drive_db": Param(12.0, 0.0, 60.0, "decibel", aliases=("drive", "amount", "gain")),
        },
        "tanh saturation",
    ),
    "bitcrush": EffectType(
        "Bitcrush",
        "Bitcrush",
        {
            "bit_depth": Param(8.0, 1.0, 16.0, "linear", aliases=("bits", "depth", "amount")),
        },
        "bit-depth reduction",
    ),
    "gain": EffectType(
        "Gain",
        "Gain",
        {
            "gain_db": Param(0.0, -60.0, 24.0, "decibel", aliases=("gain", "level", "volume", "amount")),
        },
        "gain stage",
    ),
    "pitch_shift": EffectType(
        "Pitch shift",
        "PitchShift",
        {
            "semitones": Param(0.0, -24.0, 24.0, "semitones", aliases=("pitch", "shift", "amount", "transpose")),
        },
        "pitch shifter",
    ),
}

EFFECT_NAMES: tuple[str, ...] = tuple(EFFECTS)

# Words people say for an effect type ("echo" is a delay, "eq" a peak band).
EFFECT_ALIASES = {
    "echo": "delay",
    "comp": "compressor",
    "gate": "noise_gate",
    "low_pass": "lowpass",
    "lpf": "lowpass",
    "high_pass": "highpass",
    "hpf": "highpass",
    "eq": "peak_eq",
    "bass": "low_shelf",
    "treble": "high_shelf",
    "saturation": "distortion",
    "overdrive": "distortion",
    "crusher": "bitcrush",
    "pitch": "pitch_shift",
}


def effect_type(name: str) -> EffectType:
    key = EFFECT_ALIASES.get(name, name)
    if key not in EFFECTS:
        raise EarshotError(f"there is no effect called {name!r}", f"effects: {', '.join(EFFECTS)}")
    return EFFECTS[key]


def canonical_effect(name: str) -> str:
    key = EFFECT_ALIASES.get(name.strip().lower().replace(" ", "_").replace("-", "_"), name.strip().lower())
    key = key.replace(" ", "_").replace("-", "_")
    key = EFFECT_ALIASES.get(key, key)
    if key not in EFFECTS:
        raise EarshotError(f"there is no effect called {name!r}", f"effects: {', '.join(EFFECTS)}")
    return key


def param_name(kind: str, name: str) -> str:
    """The parameter of effect `kind` that `name` means ("size" → room_size), or a clear error."""
    spec = EFFECTS[kind]
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    if key in spec.params:
        return key
    for pname, p in spec.params.items():
        if key in p.aliases or key == p.attr:
            return pname
    # "cutoff frequency" → cutoff_hz: a prefix of the unit-suffixed name
    for pname in spec.params:
        if pname.split("_")[0] == key.split("_")[0]:
            return pname
    raise EarshotError(
        f"the {spec.title.lower()} has no parameter {name!r}", f"its parameters: {', '.join(spec.params)}"
    )


INTEGER_PARAMS = {"order"}  # a filter has a whole number of stages (DAWproject's band @order is an int)


def check_value(kind: str, pname: str, value: float) -> float:
    p = EFFECTS[kind].params[pname]
    if not p.lo <= value <= p.hi:
        raise EarshotError(
            f"{EFFECTS[kind].title.lower()} {pname} must be between {p.lo:g} and {p.hi:g}; got {value:g}",
            f"pick a value in range (default {p.default:g})",
        )
    return float(round(value)) if pname in INTEGER_PARAMS else value


def default_params(kind: str) -> dict[str, float]:
    return {name: float(p.default) for name, p in EFFECTS[kind].params.items()}


def tail_s(effects: list[dict]) -> float:
    """How long a chain keeps sounding after its input stops (reverb decay, delay repeats)."""
    import math

    tail = 0.0
    for fx in effects:
        if not fx.get("enabled", True):
            continue
        p = fx["params"]
        if fx["type"] == "reverb":
            tail += 0.5 + 6.0 * p["room_size"]
        elif fx["type"] == "delay" and p["mix"] > 0:
            repeats = math.log(1e-3) / math.log(max(p["feedback"], 1e-3)) if p["feedback"] > 0 else 1
            tail += p["delay_s"] * min(repeats + 1, 40)
        elif fx["type"] in ("chorus", "phaser", "compressor", "limiter", "noise_gate", "pitch_shift"):
            tail += 0.1
    return min(tail, 12.0)


def build_board(effects: list[dict], sample_rate_hz: int):
    """A pedalboard.Pedalboard for an ordered list of effect dicts (disabled ones left out)."""
    import pedalboard

    plugins = []
    for fx in effects:
        if not fx.get("enabled", True):
            continue
        spec = EFFECTS[fx["type"]]
        cls = getattr(pedalboard, spec.plugin)
        kwargs = {}
        for pname, p in spec.params.items():
            if pname == "order":
                continue
            value = fx["params"].get(pname, p.default)
            kwargs[p.attr or pname] = value
        if fx["type"] in ("lowpass", "highpass"):
            # first-order stages in series: 6 dB/octave each
            plugins += [cls(**kwargs) for _ in range(int(round(fx["params"].get("order", 1))))]
        else:
            plugins.append(cls(**kwargs))
    return pedalboard.Pedalboard(plugins)


def describe_effect(fx: dict, brief: bool = True) -> str:
    spec = EFFECTS[fx["type"]]
    shown = list(spec.params)[:2] if brief else list(spec.params)
    bits = ", ".join(f"{k} {fx['params'][k]:g}" for k in shown if k in fx["params"])
    off = "" if fx.get("enabled", True) else " off"
    return f"{fx['type']}({bits}){off}"
