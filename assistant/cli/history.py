"""`earshot history [--list] [--session ID] [--json]`: turns, plans, tool runs and files of a session."""

from __future__ import annotations

import json
from dataclasses import asdict

from ..config import load_config
from ..store.session import Session, SessionStore


def run(args) -> int:
    config = load_config()
    store = SessionStore(config.paths.database_path)
    if args.list:
        rows = store.list_sessions()
        if args.json:
            print(json.dumps([dict(r) for r in rows]))
        for r in rows:
            print(f"{r['id']}  {r['turns']:3d} turns  {r['artifacts']:3d} files  {r['workspace']}")
        return 0
    session = store.open_session(args.session) if args.session else store.latest_session()
    if session is None:
        print("no sessions yet: `earshot ask \"...\"` starts one")
        return 0
    if args.json:
        turns = []
        for turn, plans, runs in session.iter_history():
            turns.append({**dict(turn), "plans": [dict(p) for p in plans], "tool_runs": [dict(r) for r in runs]})
        arts = [{**asdict(a), "path": str(a.path), "id": a.id} for a in session.artifacts()]
        print(
            json.dumps(
                {"session": session.id, "workspace": str(session.workspace), "turns": turns, "artifacts": arts},
                default=str,
            )
        )
        return 0
    from rich.console import Console

    print_history(session, Console(highlight=False))
    return 0


def print_history(session: Session, console) -> None:
    console.print(f"[bold]session {session.id}[/]  workspace {session.workspace}")
    for turn, plans, runs in session.iter_history():
        mark = {"ok": "✓", "failed": "✗", "interrupted": "⏹", "running": "…"}.get(turn["status"], "?")
        console.print(f"\n{mark} [bold]you:[/] {turn['user_text']}" + (" 🎤" if turn["source"] == "spoken" else ""))
        for p in plans:
            if not p["valid"]:
                console.print(f"   [yellow]plan attempt {p['attempt']} rejected: {p['error']}[/]")
            else:
                by = "the command path" if p["planner"] == "fast" else "the LLM"
                took = (
                    f"{p['plan_ms']:.0f} ms"
                    if p["plan_ms"] is not None and p["plan_ms"] < 1000
                    else (f"{(p['plan_ms'] or 0) / 1000:.1f} s")
                )
                console.print(f"   [dim]planned by {by} ({took})[/]")
        for r in runs:
            console.print(
                f"   {r['step']}. {r['tool']} {r['args']} → {r['status']}"
                + (f" ({r['duration_s']:.1f} s)" if r["duration_s"] else "")
                + (f" [red]{r['error']}[/]" if r["error"] else "")
            )
        if turn["reply_text"]:
            console.print("   [green]earshot:[/] " + turn["reply_text"].replace("\n", "\n   "))
        elif turn["error"]:
            console.print(f"   [red]{turn['error']}[/]")
    arts = session.artifacts()
    if arts:
        console.print("\n[bold]files[/]")
        for a in arts:
            console.print("  " + a.describe() + f"  {a.path}")
