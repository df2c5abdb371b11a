"""track: add, remove, rename a project track; its gain, pan, mute and solo. Every change is numbered
and undoable (see assistant/project/store.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import EarshotError
from ..project.refs import resolve_track
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import project_of, result

Op = Literal["add", "remove", "rename", "gain", "pan", "mute", "unmute", "solo", "unsolo"]


@dataclass
class Args:
    op: Op = field(metadata={"doc": "what to do to the track"})
    track: str = field(
        default="",
        metadata={
            "max_length": 60,
            "doc": 'which track: its name, number or a description ("the drums", "2"); add: the name',
        },
    )
    name: str = field(default="", metadata={"max_length": 60, "doc": "rename: the new name"})
    gain_db: float = field(
        default=0.0, metadata={"min": -60, "max": 24, "doc": "gain: change in dB (+3 louder, -3 quieter)"}
    )
    pan: float = field(default=0.0, metadata={"min": -1, "max": 1, "doc": "pan: -1 left … 0 centre … 1 right"})
    kind: Literal["audio", "midi"] = field(default="audio", metadata={"doc": "add: audio or MIDI track"})


SPEC = ToolSpec(
    name="track",
    doing={
        "add": "adding a track",
        "remove": "removing {track}",
        "rename": "renaming {track}",
        "gain": "changing the level of {track}",
        "pan": "panning {track}",
        "mute": "muting {track}",
        "unmute": "unmuting {track}",
        "solo": "soloing {track}",
        "unsolo": "unsoloing {track}",
    },
    summary="a project track's volume (gain), pan, mute and solo; add, remove or rename a track",
    examples=(
        "add a track called vocals",
        "mute the drums",
        "turn the bass down 3 dB",
        "pan the guitar left",
        "rename track 2 to lead",
        "solo the vocals",
    ),
    method="project edit (non-destructive: audio is only processed when the project is rendered)",
    learned=False,
    licence="GPL-3.0-or-later",
    timeout_s=30,
    max_memory_mb=512,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    project = project_of(ctx)
    with project.changes(ctx.tool_run_id) as tx:
        state = tx.state
        if args.op == "add":
            name = (args.name or args.track).strip()
            if not name:
                raise EarshotError(
                    "the new track needs a name", 'say what to call it, e.g. "add a track called vocals"'
                )
            changes = [tx.apply("add_track", name=name, kind=args.kind)]
        else:
            tid = resolve_track(state, args.track)
            if args.op == "remove":
                changes = [tx.apply("remove_track", track_id=tid)]
            elif args.op == "rename":
                if not args.name.strip():
                    raise EarshotError("what should the track be called?", "give the new name")
                changes = [tx.apply("rename_track", track_id=tid, name=args.name)]
            elif args.op == "gain":
                if args.gain_db == 0:
                    raise EarshotError("by how many dB?", 'e.g. "3 dB louder" or "down 6 dB"')
                new = max(-60.0, min(12.0, state["tracks"][tid]["gain_db"] + args.gain_db))
                changes = [tx.apply("set_track", track_id=tid, gain_db=new)]
            elif args.op == "pan":
                changes = [tx.apply("set_track", track_id=tid, pan=args.pan)]
            else:
                flag = {
                    "mute": ("mute", True),
                    "unmute": ("mute", False),
                    "solo": ("solo", True),
                    "unsolo": ("solo", False),
                }[args.op]
                changes = [tx.apply("set_track", track_id=tid, **{flag[0]: flag[1]})]
    lead = "Removed a track (undo brings it back with its clips)" if args.op == "remove" else "Project updated"
    return result(lead, changes, project)
