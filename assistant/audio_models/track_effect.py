"""track_effect: the ordered effect chain of a project track (or the master): add, remove, reorder,
adjust a named parameter, bypass. Effects are pedalboard plugins (assistant/project/effects.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..errors import EarshotError
from ..project.effects import EFFECT_NAMES, EFFECTS, param_name
from ..project.refs import resolve_effect, resolve_track
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import project_of, result

Op = Literal["add", "remove", "move", "set", "bypass", "enable"]
Effect = Literal[EFFECT_NAMES]  # type: ignore[valid-type]


@dataclass
class Args:
    op: Op = field(metadata={"doc": "add an effect, remove it, move it in the chain, set a parameter, bypass it"})
    effect: Effect = field(metadata={"doc": "which kind of effect"})
    track: str = field(
        default="",
        metadata={"max_length": 60, "doc": 'the track ("the vocals", "2"); "master" or empty for the whole mix'},
    )
    param: str = field(
        default="",
        metadata={
            "max_length": 40,
            "doc": "set (or add): the parameter, e.g. cutoff_hz, room_size, wet, threshold_db, ratio",
        },
    )
    value: float | None = field(default=None, metadata={"min": -100, "max": 20000, "doc": "the parameter's new value"})
    position: int | None = field(
        default=None, metadata={"min": 1, "max": 16, "doc": "add/move: slot in the chain (1 = first)"}
    )


SPEC = ToolSpec(
    name="track_effect",
    doing={
        "add": "adding {effect}",
        "remove": "removing {effect}",
        "move": "moving {effect} in the chain",
        "set": "setting {effect}",
        "bypass": "bypassing {effect}",
        "enable": "turning {effect} back on",
    },
    summary="effects (reverb, EQ, filters, compressor…) on a project track or the master: add, remove, "
    "reorder, set a parameter or bypass one",
    examples=(
        "add reverb to the vocals",
        "put a low-pass at 2 kHz on the drums",
        "remove the delay from track 2",
        "set the reverb room size on the vocals to 0.8",
        "move the compressor before the reverb",
        "bypass the eq",
    ),
    method="pedalboard plugins (signal processing, JUCE), applied when the project is rendered",
    learned=False,
    licence="GPL-3.0 (pedalboard)",
    timeout_s=30,
    max_memory_mb=512,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    project = project_of(ctx)
    kind = args.effect
    with project.changes(ctx.tool_run_id) as tx:
        state = tx.state
        owner = resolve_track(state, args.track, allow_master=True) if args.track.strip() else "master"
        params = {}
        if args.param.strip():
            if args.value is None:
                raise EarshotError(f"what should {args.param} be?", "give a value")
            params[param_name(kind, args.param)] = args.value
        elif args.value is not None and args.op in ("add", "set"):
            # "a low-pass at 2 kHz": the value belongs to the effect's main parameter
            params[next(iter(EFFECTS[kind].params))] = args.value
        chain = state["tracks"][owner]["effects"] if owner != "master" else state["master"]["effects"]
        existing = [e for e in chain.values() if e["type"] == kind]
        if args.op == "add" or (args.op == "set" and not existing):
            changes = [tx.apply("add_effect", owner=owner, kind=kind, params=params, position=args.position)]
        else:
            # which one of several of this kind: by slot for remove/set/bypass; move's position is the target
            eid = resolve_effect(state, owner, "" if args.op == "move" else str(args.position or ""), kind)
            if args.op == "remove":
                changes = [tx.apply("remove_effect", owner=owner, effect_id=eid)]
            elif args.op == "move":
                if args.position is None:
                    raise EarshotError("to which slot?", 'e.g. "first" (1) or "last"')
                changes = [tx.apply("move_effect", owner=owner, effect_id=eid, position=args.position)]
            elif args.op == "set":
                if not params:
                    raise EarshotError(
                        f"which {EFFECTS[kind].title.lower()} parameter, and to what?",
                        f"its parameters: {', '.join(EFFECTS[kind].params)}",
                    )
                changes = [
                    tx.apply("set_effect", owner=owner, effect_id=eid, param=p, value=v) for p, v in params.items()
                ]
            else:
                changes = [tx.apply("set_effect", owner=owner, effect_id=eid, enabled=args.op == "enable")]
    return result("Effect chain updated (signal processing, heard when rendered)", changes, project)
