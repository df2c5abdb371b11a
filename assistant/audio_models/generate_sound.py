"""generate_sound: text → sound effect, from a library of parametric procedural synthesisers.

No learned text-to-audio model can be had offline, so this is signal processing, and says so: the
planner picks the presets ("a lion's roar over a race car" → ["lion_roar", "race_car"]) and
synth/presets.py renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..synth.presets import MAX_DURATION_S, MAX_LAYERS, Preset, render
from .base import ToolContext, ToolResult, ToolSpec


@dataclass
class Args:
    layers: list[Preset] = field(metadata={"max_items": MAX_LAYERS, "doc": "presets to layer, the main sound first"})
    duration_s: float = field(default=10.0, metadata={"min": 0.5, "max": MAX_DURATION_S})
    intensity: float = field(
        default=0.5, metadata={"min": 0.0, "max": 1.0, "doc": "0 calm, sparse, slow; 1 heavy, dense, fast"}
    )
    seed: int = field(default=0, metadata={"min": 0, "max": 9999, "doc": "another number gives another take"})


SPEC = ToolSpec(
    name="generate_sound",
    doing="making the sound",
    summary="make a sound effect or ambience from presets, layered",
    examples=(
        "make a rain sound",
        "a lion's roar over a race car",
        "10 seconds of wind and thunder",
        "generate footsteps",
        "create a riser for the drop",
    ),
    method="procedural synthesisers (signal processing: filtered noise, pulse trains, formants, FM chirps)",
    learned=False,
    licence="GPL-3.0-or-later (Earshot's own code)",
    timeout_s=120,
    max_memory_mb=1024,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    rate = 48_000
    ctx.progress(0.05, "synthesising")
    audio = render(list(args.layers), args.duration_s, rate, args.seed, args.intensity)
    name = "-".join(args.layers[:3]).replace("_", "-")
    art = ctx.new_audio_artifact(
        audio, rate, f"sfx-{name}", meta={"layers": list(args.layers), "intensity": args.intensity, "seed": args.seed}
    )
    described = " over ".join(n.replace("_", " ") for n in args.layers)
    return ToolResult(
        f"Synthesised {described} ({args.duration_s:g} s, intensity {args.intensity:g}) with "
        f"procedural synthesisers — signal processing, not a learned model → {art.name}.",
        [art],
        {"layers": list(args.layers), "duration_s": args.duration_s},
    )
