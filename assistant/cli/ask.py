"""`earshot ask "…"`: one typed turn, then exit (0 done, 1 the turn failed, 2 a setup problem)."""

from __future__ import annotations

import asyncio

from ..errors import EarshotError
from .common import config_for, human_printer, json_printer, open_session, output_sink, typed_turn


def run(args) -> int:
    from ..pipeline import Assistant

    config = config_for(args)
    plan = None
    if getattr(args, "plan", None) is not None:
        try:
            plan = args.plan.read_text(encoding="utf-8")
        except OSError as exc:
            raise EarshotError(f"cannot read the plan file {args.plan}: {exc.strerror}", "check the path") from exc
    session = open_session(config, args)
    assistant = Assistant(config, session, emit=json_printer if args.json else human_printer(), llm_name=args.llm)
    sink = output_sink(config)
    try:
        reply = asyncio.run(typed_turn(assistant, args.text, sink, plan, keep_context=True))
    finally:
        if sink is not None:
            sink.close()
    # This turn's status, not the session's latest: another `earshot ask` may be writing to it too.
    status = next((t["status"] for t in session.turns() if t["id"] == reply.turn_id), "failed")
    return 0 if status == "ok" else 1
