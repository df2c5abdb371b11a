"""describe_project: the project's tracks, chains, clips and recent changes as compact text."""

from __future__ import annotations

from dataclasses import dataclass

from ..project.describe import describe
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import project_of


@dataclass
class Args:
    pass


SPEC = ToolSpec(
    name="describe_project",
    doing="looking at the project",
    summary="list the project's tracks, effects, clips and recent changes",
    examples=("what's in the project?", "show me the tracks", "which effects are on the vocals?"),
    method="project summary (no audio processing)",
    learned=False,
    licence="GPL-3.0-or-later",
    timeout_s=30,
    max_memory_mb=512,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    project = project_of(ctx)
    if not project.exists:
        return ToolResult("The project is empty: place a file on a track to start one.", [], {"text": ""})
    changes = [f"#{r['seq']} {r['label']}" for r in project.log(5) if r["kind"] != "init"]
    text = describe(project.state(), 3, changes)
    return ToolResult(text, [], {"text": text})
