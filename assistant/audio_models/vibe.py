"""vibe: a vague request ("more relaxed", "warmer", "like a phone call") → a few concrete, numbered
changes from the descriptor table in assistant/project/vibes.py, each undoable on its own."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..project.refs import resolve_track
from ..project.vibes import VIBE_NAMES, VIBES, plan_vibe
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import project_of, result

Descriptor = Literal[VIBE_NAMES]  # type: ignore[valid-type]


@dataclass
class Args:
    descriptor: Descriptor = field(metadata={"doc": "the feel to move towards"})
    track: str = field(default="", metadata={"max_length": 60, "doc": "one track; empty for the whole song"})
    amount: float = field(default=1.0, metadata={"min": 0.25, "max": 3, "doc": "0.5 a little, 1 normal, 2 a lot"})


SPEC = ToolSpec(
    name="vibe",
    doing="making it {descriptor}",
    summary="make the song or a track feel relaxed/calmer, energetic, warmer, brighter, darker, punchier, "
    "further away, closer, like a phone call, radio, underwater, spacious, dry or lo-fi",
    examples=(
        "make it sound more relaxed",
        "make the vocals warmer",
        "make the drums more punchy",
        "make the voice sound like a phone call",
        "push the guitar further away",
        "make the mix brighter",
    ),
    method="a table of mix moves (tempo, EQ, filters, reverb, compression) per descriptor; signal processing "
    "with pedalboard when rendered",
    learned=False,
    licence="GPL-3.0 (pedalboard)",
    timeout_s=30,
    max_memory_mb=512,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    project = project_of(ctx)
    with project.changes(ctx.tool_run_id) as tx:
        owner = resolve_track(tx.state, args.track, allow_master=True) if args.track.strip() else "master"
        ops, notes = plan_vibe(tx.state, args.descriptor, owner, args.amount)
        changes = [tx.apply(op, **op_args) for op, op_args in ops]
    where = "the whole song" if owner == "master" else f"track {project.state()['tracks'][owner]['name']!r}"
    vibe = VIBES[args.descriptor]
    lead = f"Made {where} more {args.descriptor} ({vibe.means}; signal processing)"
    res = result(lead, changes, project, {"descriptor": args.descriptor})
    if notes:
        res.summary += " " + "; ".join(n[0].upper() + n[1:] for n in notes) + "."
    if not changes:
        res.summary = (
            f"{where[0].upper() + where[1:]} is already as {args.descriptor} as the table goes; nothing changed."
        )
    return res
