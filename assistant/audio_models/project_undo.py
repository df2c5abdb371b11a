"""project_undo: undo or redo the last project change(s), or undo one numbered change (#15) on its own.
The history lives in the session database, so it works across restarts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import EarshotError
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import project_of, result


@dataclass
class Args:
    op: Literal["undo", "redo"] = "undo"
    steps: int = field(default=1, metadata={"min": 1, "max": 20, "doc": "how many requests' changes"})
    change: int = field(
        default=0,
        metadata={"min": 0, "max": 100000, "doc": "undo only this numbered change (#15 → 15); 0 = the last request"},
    )


SPEC = ToolSpec(
    name="project_undo",
    doing={"undo": "undoing that", "redo": "redoing that"},
    summary="undo or redo project changes, or undo one numbered change",
    examples=("undo that", "undo the last two changes", "redo", "undo change 14", "take back the reverb change"),
    method="project history: exact inverse patches from the operation log",
    learned=False,
    licence="GPL-3.0-or-later",
    timeout_s=30,
    max_memory_mb=512,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    project = project_of(ctx)
    if not project.exists:
        raise EarshotError("there is no project to undo in yet", "place a file on a track first")
    if args.change:
        if args.op == "redo":
            raise EarshotError("redo works on whole requests, not one change", 'say "redo"')
        changes = [project.revert(args.change, ctx.tool_run_id)]
    elif args.op == "undo":
        changes = project.undo(args.steps, ctx.tool_run_id)
        if not changes:
            raise EarshotError("there is nothing left to undo", "")
    else:
        changes = project.redo(args.steps, ctx.tool_run_id)
        if not changes:
            raise EarshotError("there is nothing to redo", "redo only follows an undo")
    return result("Done", changes, project)
