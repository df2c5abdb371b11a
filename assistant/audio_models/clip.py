"""clip: place a file on a project track and move, trim, split, duplicate, delete, fade, loop or
change the gain of clips. Clips are named by id ("c3"), description ("the second vocal clip") or
"it" (the clip changed last)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from ..errors import EarshotError
from ..project.midi import read_notes
from ..project.refs import resolve_clip, resolve_track
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import is_midi, project_of, result, source_of, source_tempo

Op = Literal["place", "move", "trim", "split", "duplicate", "delete", "fade", "gain", "loop"]


@dataclass
class Args:
    op: Op = field(metadata={"doc": "what to do"})
    file: Artifact | None = field(default=None, metadata={"doc": "place: the audio or MIDI file to put on a track"})
    clip: str = field(default="", metadata={"max_length": 60, "doc": 'which clip: "c3", "the second vocal clip", "it"'})
    track: str = field(
        default="", metadata={"max_length": 60, "doc": "place/move/duplicate: the track (a new name makes a new track)"}
    )
    at: float | None = field(
        default=None,
        metadata={
            "min": 0,
            "max": 100000,
            "doc": "place/move/duplicate: where it starts; split: where to cut; trim: new start",
        },
    )
    unit: Literal["beats", "bars", "seconds"] = field(default="beats", metadata={"doc": "unit of at and length"})
    length: float | None = field(
        default=None, metadata={"min": 0, "max": 100000, "doc": "trim: new length; loop: total length of the repeats"}
    )
    gain_db: float = field(default=0.0, metadata={"min": -60, "max": 24, "doc": "gain: change in dB"})
    fade_in_s: float = field(default=0.0, metadata={"min": 0, "max": 60})
    fade_out_s: float = field(default=0.0, metadata={"min": 0, "max": 60})


SPEC = ToolSpec(
    name="clip",
    doing={
        "place": "putting {file} on {track}",
        "move": "moving the clip",
        "trim": "trimming the clip",
        "split": "splitting the clip",
        "duplicate": "duplicating the clip",
        "delete": "deleting the clip",
        "fade": "fading the clip",
        "gain": "changing the clip's level",
        "loop": "looping the clip",
    },
    summary="put a file on a project track, or move, trim, split, duplicate, delete, fade, loop a clip",
    examples=(
        "put drums.wav on a new track called drums",
        "move the vocal clip to bar 5",
        "loop the drums for 8 bars",
        "split the second vocal clip at 10 seconds",
        "delete the last clip",
        "fade out the piano clip over 2 seconds",
    ),
    method="project edit (non-destructive: audio is only processed when the project is rendered)",
    learned=False,
    licence="GPL-3.0-or-later",
    timeout_s=60,
    max_memory_mb=512,
)


def _place(args: Args, ctx: ToolContext, tx) -> list:
    if args.file is None:
        raise EarshotError("which file should go on the track?", 'name it, e.g. "@a3" or "drums.wav"')
    state = tx.state
    midi = is_midi(args.file)
    source = source_of(args.file, ctx)
    changes = []
    wanted = args.track.strip() or Path(args.file.name).stem.replace("-", " ").replace("_", " ")[:60]
    try:
        tid = resolve_track(state, wanted) if state["tracks"] else None
    except EarshotError:
        tid = None
    notes = program = None
    if midi:
        notes, program, _ = read_notes(args.file.path)
    kind = "midi" if midi else "audio"
    if tid is not None and state["tracks"][tid]["kind"] != kind:
        tid = None if not args.track.strip() else tid
    if tid is None:
        change = tx.apply("add_track", name=wanted, kind=kind, program=program or 0)
        changes.append(change)
        tid = change.ref
    start = args.at or 0.0
    if args.unit == "bars" and args.at is None:
        start = 1.0
    changes.append(
        tx.apply(
            "place_clip",
            track_id=tid,
            start=start,
            unit=args.unit,
            source=source,
            notes=notes,
            source_bpm=None if midi else source_tempo(args.file),
        )
    )
    return changes


def run(args: Args, ctx: ToolContext) -> ToolResult:
    if args.unit == "bars" and args.at is not None and args.at < 1 and args.op != "loop":
        # Bars are counted from 1 like a DAW's ruler; "at bar 0" (the planner's way to say "at the start")
        # is the first bar, not a bar before the song.
        args = replace(args, at=1.0)
    project = project_of(ctx)
    with project.changes(ctx.tool_run_id) as tx:
        if args.op == "place":
            changes = _place(args, ctx, tx)
        else:
            state = tx.state
            cid = resolve_clip(state, args.clip, project.recent_ref("c"))
            clip = state["clips"][cid]
            unit = args.unit
            if args.op == "move":
                tid = resolve_track(state, args.track) if args.track.strip() else None
                if args.at is None and tid is None:
                    raise EarshotError("where to?", 'say a time ("to bar 5", "to 10 seconds") or a track')
                changes = [
                    tx.apply(
                        "move_clip",
                        clip_id=cid,
                        start=args.at,
                        unit=unit if args.at is not None else None,
                        track_id=tid,
                    )
                ]
            elif args.op == "trim":
                if args.at is None and args.length is None:
                    raise EarshotError("trim to what?", 'give a new start ("from beat 4") or a length ("to 8 beats")')
                changes = [tx.apply("trim_clip", clip_id=cid, start=args.at, length=args.length, unit=unit)]
            elif args.op == "split":
                if args.at is None:
                    raise EarshotError("where should it be split?", 'e.g. "at 10 seconds" or "at bar 3"')
                changes = [tx.apply("split_clip", clip_id=cid, at=args.at, unit=unit)]
            elif args.op == "duplicate":
                tid = resolve_track(state, args.track) if args.track.strip() else None
                changes = [
                    tx.apply(
                        "duplicate_clip",
                        clip_id=cid,
                        start=args.at,
                        unit=unit if args.at is not None else None,
                        track_id=tid,
                    )
                ]
            elif args.op == "delete":
                changes = [tx.apply("delete_clip", clip_id=cid)]
            elif args.op == "fade":
                if not (args.fade_in_s or args.fade_out_s):
                    raise EarshotError("how long a fade?", 'e.g. "fade it out over 2 seconds"')
                changes = [
                    tx.apply(
                        "set_clip", clip_id=cid, fade_in_s=args.fade_in_s or None, fade_out_s=args.fade_out_s or None
                    )
                ]
            elif args.op == "gain":
                if args.gain_db == 0:
                    raise EarshotError("by how many dB?", 'e.g. "3 dB quieter"')
                new = max(-60.0, min(24.0, clip["gain_db"] + args.gain_db))
                changes = [tx.apply("set_clip", clip_id=cid, gain_db=new)]
            else:  # loop
                changes = [tx.apply("loop_clip", clip_id=cid, length=args.length, unit=unit)]
    lead = "Project updated" if args.op != "delete" else "Deleted a clip (undo brings it back)"
    return result(lead, changes, project)
