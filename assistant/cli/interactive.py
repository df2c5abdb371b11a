"""`earshot` with no command: the terminal UI on a terminal; a plain prompt loop with --plain or when
stdout is not a terminal."""

from __future__ import annotations

import asyncio
import sys

from ..errors import EarshotError
from .common import config_for, human_printer, open_session, output_sink, progress_console, typed_turn


def run(args) -> int:
    config = config_for(args)
    session = open_session(config, args)
    if not getattr(args, "plain", False) and sys.stdout.isatty() and sys.stdin.isatty():
        from ..ui.app import run_tui

        return run_tui(
            config,
            session,
            llm_name=args.llm,
            speak=config.speech.speak_replies,
            listen=not getattr(args, "no_listen", False),
        )
    return _plain(config, session, args.llm)


def _plain(config, session, llm: str | None) -> int:
    from ..pipeline import Assistant
    from .history import print_history
    from .tools import run as print_tools

    console = progress_console()
    assistant = Assistant(config, session, emit=human_printer(console), llm_name=llm)
    console.print(f"[bold]Earshot[/] — session {session.id}, workspace {session.workspace}")
    console.print("Type a request (\"transcribe memo.wav\"), /history, /tools or /quit. Loading the planner…")
    assistant.load()
    sink = output_sink(config)
    try:
        while True:
            try:
                text = console.input("[bold cyan]you ›[/] ").strip()
            except (EOFError, KeyboardInterrupt):
                console.print()
                return 0
            if text in ("/quit", "/exit"):
                return 0
            if text == "/tools":
                print_tools(_Args(json=False))
            elif text == "/history":
                print_history(session, console)
            elif text:
                try:
                    asyncio.run(typed_turn(assistant, text, sink))
                except EarshotError as exc:
                    console.print(f"[red]error:[/] {exc}")
                except KeyboardInterrupt:  # Ctrl+C mid-turn: asyncio.run cancelled the turn, as Esc does
                    console.print("[yellow]interrupted[/]")
    finally:
        if sink is not None:
            sink.close()


class _Args:
    def __init__(self, **kw) -> None:
        self.__dict__.update(kw)
