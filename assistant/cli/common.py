"""What every command handler shares: the config, the session to continue, and how events are printed.

Progress (the plan, tool cards, what was heard) goes to stderr and the reply to stdout, so
`earshot ask "transcribe memo.wav" > memo.txt` keeps the answer; `--json` puts every event on stdout.
"""

from __future__ import annotations

import json
import sys

from ..config import EarshotConfig, load_config
from ..events import Event
from ..store.session import Session, SessionStore


def config_for(args) -> EarshotConfig:
    """config.toml, with the command line's --no-speak applied."""
    config = load_config()
    if getattr(args, "no_speak", False):
        config.speech.speak_replies = False
    return config


def open_session(config: EarshotConfig, args) -> Session:
    """--session resumes; --new-session starts fresh; else continue the latest (in --workspace if given)."""
    store = SessionStore(config.paths.database_path)
    if getattr(args, "session", None):
        session = store.open_session(args.session)
    else:
        workspace = getattr(args, "workspace", None)
        latest = None if getattr(args, "new_session", False) else store.latest_session(workspace)
        session = latest or store.create_session(workspace, sessions_dir=config.paths.sessions_dir)
    session.remove_stale_scratch()  # what a killed write left behind (never a write in progress)
    return session


def json_printer(event: Event) -> None:
    print(json.dumps(event.to_json(), default=str), flush=True)


def progress_console():
    """Where progress is printed: stderr, so stdout carries only the reply."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def reply_console():
    from rich.console import Console

    return Console(highlight=False)


def human_printer(progress=None, reply=None):
    """Events as lines for a person: progress on `progress` (stderr), the reply on `reply` (stdout)."""
    from ..events import ErrorEvent, PlanReady, PlanRejected, Reply, ToolFinished, ToolStarted, Transcript

    progress = progress or progress_console()
    reply = reply or reply_console()

    def show(event: Event) -> None:
        if isinstance(event, Transcript):
            progress.print(f"[dim]🎤 {event.text}[/]")
        elif isinstance(event, PlanReady) and event.steps:
            chain = " → ".join(s["tool"] for s in event.steps)
            took = (
                f"{event.plan_ms:.0f} ms, command path" if event.planner == "fast" else f"{event.plan_ms / 1000:.1f} s"
            )
            progress.print(f"[dim]plan ({took}): {chain}[/]")
        elif isinstance(event, PlanRejected):
            progress.print(f"[yellow]plan rejected: {event.error}[/]")
        elif isinstance(event, ToolStarted):
            progress.print(f"[cyan]▶ {event.tool}[/] {json.dumps(event.args)}")
        elif isinstance(event, ToolFinished):
            mark = "[green]✓[/]" if event.status == "ok" else "[red]✗[/]"
            progress.print(
                f"{mark} {event.tool} ({event.duration_s:.1f} s)" + (f" [red]{event.error}[/]" if event.error else "")
            )
        elif isinstance(event, Reply):
            reply.print(event.text, markup=False)
        elif isinstance(event, ErrorEvent):
            progress.print(f"[yellow]{event.message}[/]" + (f" — {event.hint}" if event.hint else ""))

    return show


def spinner(text: str):
    """A transient status line for a step that takes seconds and reports no progress of its own."""
    return progress_console().status(text)


def print_json(value) -> None:
    print(json.dumps(value, indent=1, default=str))


def fail(message: str) -> None:
    print(f"earshot: {message}", file=sys.stderr)


def output_sink(config: EarshotConfig):
    """The speaker a typed turn's reply is spoken on (opened when the reply plays), or None with speaking off."""
    if not config.speech.speak_replies:
        return None
    from ..audio import io

    return io.Speaker(config.speech.output_device, latency="high")


async def typed_turn(assistant, text: str, sink, plan: str | None = None, keep_context: bool = False):
    """One typed request on the one turn path; the reply is spoken on `sink` and heard to its end.
    `plan`: run this plan (JSON) instead of planning. `keep_context`: the process ends after this turn,
    so it saves the session's context for the next one."""
    import asyncio

    reply = await assistant.ask(
        text, assistant.speaker(sink) if sink is not None else None, plan, keep_context=keep_context
    )
    if sink is not None:
        await asyncio.sleep(sink.output_latency_s)  # the last block is still in the device buffer
    return reply
