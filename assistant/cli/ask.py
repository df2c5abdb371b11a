"""`earshot ask "…"`: one typed turn, then exit (0 done, 1 the turn failed, 2 a setup problem)."""

from __future__ import annotations

import asyncio

from .common import config_for, human_printer, json_printer, open_session, output_sink, typed_turn


def run(args) -> int:
    from ..pipeline import Assistant

    config = config_for(args)
    session = open_session(config, args)
    assistant = Assistant(config, session, emit=json_printer if args.json else human_printer(), llm_name=args.llm)
    sink = output_sink(config)
    try:
        asyncio.run(typed_turn(assistant, args.text, sink, keep_context=True))
    finally:
        if sink is not None:
            sink.close()
    return 0 if session.turns()[-1]["status"] == "ok" else 1
