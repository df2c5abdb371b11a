"""project_tempo: the project's tempo and time signature. Beat-placed clips stay on their beats;
warped audio and MIDI follow the new tempo, unwarped audio keeps its sound."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import EarshotError
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import project_of, result


@dataclass
class Args:
    bpm: float | None = field(default=None, metadata={"min": 20, "max": 400, "doc": "the new tempo"})
    time_signature: Literal["2/4", "3/4", "4/4", "5/4", "6/8", "7/8", "12/8"] | None = None


SPEC = ToolSpec(
    name="project_tempo",
    doing="setting the tempo",
    summary="set the project's tempo (BPM) or time signature",
    examples=("set the tempo to 90 bpm", "make the song 3/4", "change the project tempo to 128"),
    method="project edit (non-destructive: warped clips are time-stretched when rendered)",
    learned=False,
    licence="GPL-3.0-or-later",
    timeout_s=30,
    max_memory_mb=512,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    if args.bpm is None and args.time_signature is None:
        raise EarshotError("what tempo?", 'e.g. "set the tempo to 90 BPM"')
    project = project_of(ctx)
    with project.changes(ctx.tool_run_id) as tx:
        changes = []
        if args.bpm is not None:
            changes.append(tx.apply("set_tempo", bpm=args.bpm))
        if args.time_signature is not None:
            num, den = (int(x) for x in args.time_signature.split("/"))
            changes.append(tx.apply("set_time_signature", numerator=num, denominator=den))
    return result("Project updated", changes, project)
