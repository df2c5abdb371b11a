"""Vague requests → concrete, explainable changes: the descriptor table.

"Make it more relaxed" is not one parameter. Each descriptor below is a short list of moves a mix
engineer would make, written as data so the reply can list exactly what changed (each move becomes
one numbered change the user can undo on its own). The LLM only picks the descriptor (and how much:
`amount` 0.5 = a little, 1 = normal, 2 = a lot); the numbers come from this table.

A move on an effect either adds it (with `new` values) or, when the chain already has one, nudges
it further in the same direction (`step`), so asking twice goes further. Rules per parameter:
  mul   existing × step^amount        new: neutral · (new/neutral)^amount (log scale, for Hz)
  add   existing + step · amount      new: neutral + (new − neutral) · amount
  min   existing → min(existing, new) (a ceiling, e.g. a phone's 3.4 kHz)
  max   existing → max(existing, new)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import EarshotError
from .effects import EFFECTS
from .model import chain_of, effects_in_order


@dataclass(frozen=True)
class Rule:
    new: float
    step: float = 0.0
    how: str = "add"  # add | mul | min | max
    neutral: float = 0.0


@dataclass(frozen=True)
class Move:
    effect: str
    params: dict[str, Rule] = field(default_factory=dict)
    only_existing: bool = False  # soften what is there (less compression) but never add it
    remove: bool = False  # take it out (a "dry" mix loses its reverb)


@dataclass(frozen=True)
class Vibe:
    means: str  # what it does, in one line (shown in replies)
    tempo: float = 1.0  # tempo factor at amount 1 (whole-project requests only)
    moves: tuple[Move, ...] = ()


_REVERB_MORE = Move("reverb", {"room_size": Rule(0.7, 0.15, "add", 0.0), "wet": Rule(0.25, 0.08, "add", 0.0)})

VIBES: dict[str, Vibe] = {
    "relaxed": Vibe(
        "slower, softer attacks, darker and roomier, less squashed",
        0.9,
        (
            Move("lowpass", {"cutoff_hz": Rule(5000.0, 0.75, "mul", 20000.0)}),
            Move(
                "high_shelf", {"cutoff_hz": Rule(3000.0, 1.0, "mul", 3000.0), "gain_db": Rule(-3.0, -2.0, "add", 0.0)}
            ),
            _REVERB_MORE,
            Move(
                "compressor",
                {"ratio": Rule(1.5, 0.6, "mul", 1.0), "threshold_db": Rule(0.0, 4.0, "add", 0.0)},
                only_existing=True,
            ),
        ),
    ),
    "energetic": Vibe(
        "faster, brighter and tighter",
        1.08,
        (
            Move("high_shelf", {"cutoff_hz": Rule(5000.0, 1.0, "mul", 5000.0), "gain_db": Rule(2.0, 1.5, "add", 0.0)}),
            Move(
                "compressor",
                {
                    "threshold_db": Rule(-20.0, -3.0, "add", 0.0),
                    "ratio": Rule(3.0, 1.3, "mul", 1.0),
                    "attack_ms": Rule(15.0, 1.0, "mul", 15.0),
                },
            ),
            Move("reverb", {"wet": Rule(0.2, -0.06, "add", 0.2)}, only_existing=True),
        ),
    ),
    "warmer": Vibe(
        "more low-mids, softer highs",
        moves=(
            Move("low_shelf", {"cutoff_hz": Rule(250.0, 1.0, "mul", 250.0), "gain_db": Rule(3.0, 2.0, "add", 0.0)}),
            Move(
                "high_shelf", {"cutoff_hz": Rule(6000.0, 1.0, "mul", 6000.0), "gain_db": Rule(-2.5, -1.5, "add", 0.0)}
            ),
        ),
    ),
    "brighter": Vibe(
        "more presence and air",
        moves=(
            Move("high_shelf", {"cutoff_hz": Rule(5000.0, 1.0, "mul", 5000.0), "gain_db": Rule(4.0, 2.0, "add", 0.0)}),
            Move("lowpass", {"cutoff_hz": Rule(20000.0, 1.5, "mul", 20000.0)}, only_existing=True),
        ),
    ),
    "darker": Vibe(
        "less treble",
        moves=(
            Move(
                "high_shelf", {"cutoff_hz": Rule(4000.0, 1.0, "mul", 4000.0), "gain_db": Rule(-4.0, -2.0, "add", 0.0)}
            ),
            Move("lowpass", {"cutoff_hz": Rule(8000.0, 0.8, "mul", 20000.0)}),
        ),
    ),
    "punchier": Vibe(
        "transients through a compressor with a slow attack, more low end, less reverb",
        moves=(
            Move(
                "compressor",
                {
                    "threshold_db": Rule(-20.0, -3.0, "add", 0.0),
                    "ratio": Rule(4.0, 1.3, "mul", 1.0),
                    "attack_ms": Rule(25.0, 1.0, "mul", 25.0),
                    "release_ms": Rule(100.0, 1.0, "mul", 100.0),
                },
            ),
            Move("low_shelf", {"cutoff_hz": Rule(100.0, 1.0, "mul", 100.0), "gain_db": Rule(2.0, 1.5, "add", 0.0)}),
            Move("reverb", {"wet": Rule(0.2, -0.06, "add", 0.2)}, only_existing=True),
        ),
    ),
    "further": Vibe(
        "quieter, duller and wetter, as if across the room",
        moves=(
            Move("gain", {"gain_db": Rule(-5.0, -3.0, "add", 0.0)}),
            Move("lowpass", {"cutoff_hz": Rule(5000.0, 0.8, "mul", 20000.0)}),
            Move(
                "reverb",
                {
                    "room_size": Rule(0.6, 0.1, "add", 0.0),
                    "wet": Rule(0.35, 0.1, "add", 0.0),
                    "dry": Rule(0.3, -0.1, "add", 0.5),
                },
            ),
        ),
    ),
    "closer": Vibe(
        "drier, fuller and more present",
        moves=(
            Move(
                "reverb", {"wet": Rule(0.2, -0.08, "add", 0.2), "dry": Rule(0.5, 0.05, "add", 0.5)}, only_existing=True
            ),
            Move("low_shelf", {"cutoff_hz": Rule(150.0, 1.0, "mul", 150.0), "gain_db": Rule(2.0, 1.0, "add", 0.0)}),
            Move("high_shelf", {"cutoff_hz": Rule(5000.0, 1.0, "mul", 5000.0), "gain_db": Rule(1.5, 1.0, "add", 0.0)}),
        ),
    ),
    "phone": Vibe(
        "a telephone band (400–3400 Hz) with a little grit",
        moves=(
            Move("highpass", {"cutoff_hz": Rule(400.0, 400.0, "max"), "order": Rule(4.0, 4.0, "max")}),
            Move("lowpass", {"cutoff_hz": Rule(3400.0, 3400.0, "min"), "order": Rule(4.0, 4.0, "max")}),
            Move("distortion", {"drive_db": Rule(8.0, 8.0, "max")}),
        ),
    ),
    "radio": Vibe(
        "a small-speaker radio band, compressed",
        moves=(
            Move("highpass", {"cutoff_hz": Rule(200.0, 200.0, "max"), "order": Rule(2.0, 2.0, "max")}),
            Move("lowpass", {"cutoff_hz": Rule(5000.0, 5000.0, "min"), "order": Rule(2.0, 2.0, "max")}),
            Move("compressor", {"threshold_db": Rule(-24.0, -3.0, "add", 0.0), "ratio": Rule(4.0, 1.3, "mul", 1.0)}),
            Move("distortion", {"drive_db": Rule(5.0, 5.0, "max")}),
        ),
    ),
    "underwater": Vibe(
        "muffled and wobbling",
        moves=(
            Move("lowpass", {"cutoff_hz": Rule(600.0, 0.7, "mul", 20000.0), "order": Rule(4.0, 4.0, "max")}),
            Move(
                "chorus",
                {
                    "rate_hz": Rule(0.4, 1.0, "mul", 0.4),
                    "depth": Rule(0.6, 0.1, "add", 0.0),
                    "mix": Rule(0.5, 0.1, "add", 0.0),
                },
            ),
        ),
    ),
    "spacious": Vibe(
        "a bigger, wider room and a soft echo",
        moves=(
            Move(
                "reverb",
                {
                    "room_size": Rule(0.85, 0.1, "add", 0.0),
                    "wet": Rule(0.3, 0.08, "add", 0.0),
                    "width": Rule(1.0, 1.0, "max"),
                },
            ),
            Move(
                "delay",
                {
                    "delay_s": Rule(0.375, 1.0, "mul", 0.375),
                    "feedback": Rule(0.3, 0.05, "add", 0.0),
                    "mix": Rule(0.15, 0.05, "add", 0.0),
                },
            ),
        ),
    ),
    "dry": Vibe("no reverb or echo", moves=(Move("reverb", remove=True), Move("delay", remove=True))),
    "lofi": Vibe(
        "crunchy, narrow and dull, like an old sampler",
        moves=(
            Move("bitcrush", {"bit_depth": Rule(8.0, -2.0, "add", 16.0)}),
            Move("lowpass", {"cutoff_hz": Rule(7000.0, 0.8, "mul", 20000.0)}),
            Move("highpass", {"cutoff_hz": Rule(150.0, 150.0, "max")}),
        ),
    ),
}

VIBE_NAMES: tuple[str, ...] = tuple(VIBES)
TEMPO_LIMITS_BPM = (60.0, 200.0)  # a vibe never pushes the tempo outside this, nor by more than 25 %


def _value(rule: Rule, current: float | None, amount: float, lo: float, hi: float) -> float:
    if current is None:
        if rule.how == "mul" and rule.neutral > 0:
            value = rule.neutral * (rule.new / rule.neutral) ** amount
        elif rule.how == "add":
            value = rule.neutral + (rule.new - rule.neutral) * amount
        else:
            value = rule.new
    elif rule.how == "mul":
        value = current * rule.step**amount
    elif rule.how == "add":
        value = current + rule.step * amount
    elif rule.how == "min":
        value = min(current, rule.new)
    else:
        value = max(current, rule.new)
    return min(max(value, lo), hi)


def plan_vibe(
    state: dict, descriptor: str, owner: str, amount: float = 1.0
) -> tuple[list[tuple[str, dict]], list[str]]:
    """The operations (op name, args) that make `owner` ("master" or a track id) more `descriptor`,
    and notes on what was deliberately left alone."""
    if descriptor not in VIBES:
        raise EarshotError(f"I don't know how to make something {descriptor!r}", f"try: {', '.join(VIBES)}")
    vibe = VIBES[descriptor]
    ops: list[tuple[str, dict]] = []
    notes: list[str] = []
    if vibe.tempo != 1.0:
        if owner != "master":
            notes.append("tempo left alone (it belongs to the whole song)")
        else:
            old = state["tempo_bpm"]
            factor = vibe.tempo**amount
            factor = min(max(factor, 0.75), 1.25)
            new = round(min(max(old * factor, TEMPO_LIMITS_BPM[0]), TEMPO_LIMITS_BPM[1]), 1)
            if (new - old) * (vibe.tempo - 1) > 0:
                ops.append(("set_tempo", {"bpm": new}))
            else:
                notes.append(f"tempo kept at {old:g} BPM (at the limit of {TEMPO_LIMITS_BPM})")
    chain = effects_in_order(chain_of(state, owner))
    for move in vibe.moves:
        spec = EFFECTS[move.effect]
        existing = [fx for fx in chain if fx["type"] == move.effect]
        if move.remove:
            ops += [("remove_effect", {"owner": owner, "effect_id": fx["id"]}) for fx in existing]
            continue
        if existing:
            fx = existing[-1]
            for pname, rule in move.params.items():
                p = spec.params[pname]
                value = round(_value(rule, fx["params"][pname], amount, p.lo, p.hi), 4)
                if value != fx["params"][pname]:
                    ops.append(("set_effect", {"owner": owner, "effect_id": fx["id"], "param": pname, "value": value}))
        elif not move.only_existing:
            params = {}
            for pname, rule in move.params.items():
                p = spec.params[pname]
                params[pname] = round(_value(rule, None, amount, p.lo, p.hi), 4)
            ops.append(("add_effect", {"owner": owner, "kind": move.effect, "params": params}))
    return ops, notes
