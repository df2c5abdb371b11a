"""What each `earshot` subcommand does. Printing lives here; the work lives in the modules."""
from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..config import EarshotConfig, load_config
from ..errors import EarshotError
from ..events import Event, Reply
from ..session import Session, SessionStore


# -- sessions ---------------------------------------------------------------------------------
def open_session(config: EarshotConfig, args) -> Session:
    """--session resumes; --new-session starts fresh; else continue the latest (in --workspace if given)."""
    store = SessionStore(config.paths.database_path)
    if getattr(args, "session", None):
        return store.open_session(args.session)
    workspace = getattr(args, "workspace", None)
    if not getattr(args, "new_session", False):
        latest = store.latest_session(workspace)
        if latest is not None:
            return latest
    return store.create_session(workspace, sessions_dir=config.paths.sessions_dir)


def _config(args) -> EarshotConfig:
    config = load_config()
    if getattr(args, "no_speak", False):
        config.speech.speak_replies = False
    return config


# -- printing events --------------------------------------------------------------------------
def json_printer(event: Event) -> None:
    print(json.dumps(event.to_json(), default=str), flush=True)


def human_printer(console):
    from ..events import ErrorEvent, PlanReady, PlanRejected, ToolFinished, ToolStarted, Transcript

    def show(event: Event) -> None:
        if isinstance(event, Transcript):
            console.print(f"[dim]🎤 {event.text}[/]")
        elif isinstance(event, PlanReady) and event.steps:
            chain = " → ".join(s["tool"] for s in event.steps)
            console.print(f"[dim]plan ({event.plan_ms / 1000:.1f} s): {chain}[/]")
        elif isinstance(event, PlanRejected):
            console.print(f"[yellow]plan rejected: {event.error}[/]")
        elif isinstance(event, ToolStarted):
            console.print(f"[cyan]▶ {event.tool}[/] {json.dumps(event.args)}")
        elif isinstance(event, ToolFinished):
            mark = "[green]✓[/]" if event.status == "ok" else "[red]✗[/]"
            console.print(f"{mark} {event.tool} ({event.duration_s:.1f} s)" +
                          (f" [red]{event.error}[/]" if event.error else ""))
        elif isinstance(event, Reply):
            console.print(event.text)
        elif isinstance(event, ErrorEvent):
            console.print(f"[yellow]{event.message}[/]" + (f" — {event.hint}" if event.hint else ""))

    return show


def _stderr_console():
    from rich.console import Console

    return Console(stderr=False, highlight=False)


# -- ask / plan / interactive -----------------------------------------------------------------
def _assistant(config, session, emit, speak, llm):
    from ..pipeline import Assistant

    return Assistant(config, session, emit=emit, speak=speak and config.speech.speak_replies, llm_name=llm)


def ask(args) -> int:
    config = _config(args)
    session = open_session(config, args)
    emit = json_printer if args.json else human_printer(_stderr_console())
    assistant = _assistant(config, session, emit, not args.no_speak, args.llm)
    reply: Reply = asyncio.run(assistant.handle_text(args.text))
    turn = session.turns()[-1]
    return 0 if turn["status"] == "ok" else 1


def plan(args) -> int:
    from ..audio_models.registry import default_registry
    from ..llm.planner import load_planner

    config = _config(args)
    session = open_session(config, args)
    planner = load_planner(config, default_registry(), args.llm)
    planner.warm()
    outcome = planner.plan(args.text, session, config.paths.allowed_roots)
    attempts = [{"raw": a.raw, "error": a.error, "plan_ms": round(a.plan_ms, 1),
                 "completion_tokens": a.completion_tokens} for a in outcome.attempts]
    if args.json:
        print(json.dumps({"type": "plan", "valid": outcome.plan is not None,
                          "plan": outcome.plan.to_json() if outcome.plan else None, "attempts": attempts}))
    elif outcome.plan:
        print(json.dumps(outcome.plan.to_json(), indent=2))
    else:
        print(f"earshot: no valid plan: {outcome.attempts[-1].error}", file=sys.stderr)
    return 0 if outcome.plan else 1


def interactive(args) -> int:
    """The terminal UI on a terminal; a plain prompt loop with --plain or when stdout is not a terminal."""
    config = _config(args)
    session = open_session(config, args)
    if not getattr(args, "plain", False) and sys.stdout.isatty() and sys.stdin.isatty():
        from ..ui.app import run_tui

        return run_tui(config, session, llm_name=args.llm, speak=not args.no_speak and config.speech.speak_replies,
                       listen=not getattr(args, "no_listen", False))
    console = _stderr_console()
    assistant = _assistant(config, session, human_printer(console), not args.no_speak, args.llm)
    console.print(f"[bold]Earshot[/] — session {session.id}, workspace {session.workspace}")
    console.print("Type a request (\"transcribe memo.wav\"), /history, /tools or /quit. Loading the planner…")
    assistant.load()
    while True:
        try:
            text = console.input("[bold cyan]you ›[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return 0
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return 0
        if text == "/tools":
            tools(argparse_ns(json=False))
            continue
        if text == "/history":
            _print_history(session, console)
            continue
        try:
            asyncio.run(assistant.handle_text(text))
        except EarshotError as exc:
            console.print(f"[red]error:[/] {exc}")
        except KeyboardInterrupt:
            assistant.interrupt()
            console.print("[yellow]interrupted[/]")


def argparse_ns(**kw):
    import argparse

    return argparse.Namespace(**kw)


# -- tools ------------------------------------------------------------------------------------
def tools(args) -> int:
    from ..audio_models.registry import default_registry
    from ..llm.prompts import tool_line
    from ..llm.schema import args_schema, strip_extensions

    registry = default_registry()
    if args.json:
        out = [{"name": t.name, "summary": t.spec.summary, "method": t.spec.method, "learned": t.spec.learned,
                "licence": t.spec.licence, "examples": list(t.spec.examples),
                "args": strip_extensions(args_schema(t.args_type))} for t in registry]
        print(json.dumps(out, indent=1))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Earshot tools", show_lines=False)
    for col in ("tool", "what it does", "method", "arguments"):
        table.add_column(col)
    for t in registry:
        signature = tool_line(t).split("(", 1)[1].rsplit("):", 1)[0]
        method = t.spec.method + ("" if t.spec.learned or "signal processing" in t.spec.method else " (signal processing)")
        table.add_row(t.name, t.spec.summary, method, signature)
    Console().print(table)
    return 0


# -- models -----------------------------------------------------------------------------------
def models(args) -> int:
    from ..models import InstallProgress, ModelStore, default_models

    config = load_config()
    if getattr(args, "wheelhouse", None):
        config.paths.wheelhouse_dir = args.wheelhouse.resolve()
    store = ModelStore(config.paths)
    if args.models_command == "install":
        names = args.model or default_models(args.asr)
        with InstallProgress() as progress:
            written = store.install(names, allow_download=not args.offline, progress=progress)
        bad = [s for s in store.status(names) if s.state != "ok"]
        if bad:
            raise EarshotError(f"{bad[0].path} is {bad[0].state} after install", "run `earshot models verify`")
        print(f"{len(names)} models ready in {store.root}" + (f" ({len(written)} files written)" if written else
                                                              " (all already verified)"))
        return 0
    if args.models_command == "verify":
        from rich.progress import Progress

        names = [n for n in store.manifest if any((store.folder(n) / f.path).exists() for f in store.manifest[n].files)
                 or store.manifest[n].default]
        total = sum(store.manifest[n].bytes for n in names)
        with Progress(transient=True) as progress:
            task = progress.add_task("verifying sha256", total=total)
            statuses = store.status(names, full=True, progress=lambda n: progress.advance(task, n))
        problems = [s for s in statuses if s.state != "ok"]
        if args.json:
            print(json.dumps([{"model": s.model, "path": str(s.path), "state": s.state, "detail": s.detail}
                              for s in statuses]))
        for s in problems:
            fix = "earshot models install" + (" --asr base" if s.model == "whisper-base" else "")
            print(f"{s.model}: {s.path} is {s.state}{' (' + s.detail + ')' if s.detail else ''} — run `{fix}`",
                  file=sys.stderr)
        if not problems and not args.json:
            print(f"all {len(statuses)} files of {len(names)} models match their sha256")
        return 1 if problems else 0
    if args.models_command == "warm":
        import time

        from ..audio_models.registry import default_registry
        from ..llm.planner import load_planner

        for name in args.llm or [config.models.llm]:
            t0 = time.perf_counter()
            planner = load_planner(config, default_registry(), name)
            with _spinner(f"evaluating the {name} prompt prefix (once; saved to {config.paths.cache_dir})"):
                how = planner.warm()
            tokens = planner.llm.count_tokens(planner.prefix())
            print(f"{name}: {tokens}-token prompt prefix {how} in {time.perf_counter() - t0:.1f} s")
        return 0
    if args.models_command == "list":
        rows = []
        for name, entry in store.manifest.items():
            rows.append({"name": name, "role": entry.role, "default": entry.default, "licence": entry.licence,
                         "size_mb": round(entry.bytes / 1e6, 1), "installed": store.installed(name),
                         "description": entry.description})
        if args.json:
            print(json.dumps(rows, indent=1))
        else:
            from rich.console import Console
            from rich.table import Table

            table = Table(title=f"Models in {store.root}")
            for col in ("model", "role", "size", "licence", "installed", "description"):
                table.add_column(col)
            for r in rows:
                table.add_row(r["name"], r["role"], f"{r['size_mb']} MB", r["licence"],
                              "yes" if r["installed"] else ("no" if r["default"] else "no (optional)"),
                              r["description"])
            Console().print(table)
        return 0
    return 2


# -- history ----------------------------------------------------------------------------------
def history(args) -> int:
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
        print(json.dumps({"session": session.id, "workspace": str(session.workspace), "turns": turns,
                          "artifacts": arts}, default=str))
        return 0
    from rich.console import Console

    _print_history(session, Console(highlight=False))
    return 0


def _print_history(session: Session, console) -> None:
    console.print(f"[bold]session {session.id}[/]  workspace {session.workspace}")
    for turn, plans, runs in session.iter_history():
        mark = {"ok": "✓", "failed": "✗", "interrupted": "⏹", "running": "…"}.get(turn["status"], "?")
        console.print(f"\n{mark} [bold]you:[/] {turn['user_text']}" + (" 🎤" if turn["source"] == "spoken" else ""))
        for p in plans:
            if not p["valid"]:
                console.print(f"   [yellow]plan attempt {p['attempt']} rejected: {p['error']}[/]")
        for r in runs:
            console.print(f"   {r['step']}. {r['tool']} {r['args']} → {r['status']}"
                          + (f" ({r['duration_s']:.1f} s)" if r["duration_s"] else "")
                          + (f" [red]{r['error']}[/]" if r["error"] else ""))
        if turn["reply_text"]:
            console.print("   [green]earshot:[/] " + turn["reply_text"].replace("\n", "\n   "))
        elif turn["error"]:
            console.print(f"   [red]{turn['error']}[/]")
    arts = session.artifacts()
    if arts:
        console.print("\n[bold]files[/]")
        for a in arts:
            console.print("  " + a.describe() + f"  {a.path}")


# -- doctor -----------------------------------------------------------------------------------
def doctor(args) -> int:
    from ..doctor import run_checks

    report = run_checks(load_config())
    if args.json:
        print(json.dumps(report, indent=1, default=str))
    else:
        from ..doctor import print_report

        print_report(report)
    return 0 if all(c["ok"] for c in report["checks"]) else 1


# -- listen -----------------------------------------------------------------------------------
def listen(args) -> int:
    from .voice_cli import run_listen

    return run_listen(args)


# -- bench ------------------------------------------------------------------------------------
def bench(args) -> int:
    if args.bench_command in ("latency", "aec"):
        from .voice_cli import run_bench

        return run_bench(args)
    if args.bench_command == "plan":
        from ..bench.plan_bench import print_result, run_plan_bench

        result = run_plan_bench(load_config(), llm=args.llm, labelled=args.set, limit=args.limit,
                                progress=not args.json)
        if args.json:
            print(json.dumps(result, indent=1))
        else:
            print_result(result)
        return 0
    if args.bench_command == "startup":
        from ..bench.startup_bench import print_result as print_startup, run_startup_bench

        result = run_startup_bench(runs=args.runs)
        print(json.dumps(result, indent=1)) if args.json else print_startup(result)
    if args.bench_command == "models":
        from ..bench.models_bench import print_result as print_models, run_models_bench

        report = (lambda msg: print(f"… {msg}", file=sys.stderr, flush=True)) if not args.json else None
        result = run_models_bench(load_config(), use_torch=not args.no_torch, quick=args.quick,
                                  repeats=3 if args.quick else 7, models=args.model, progress=report)
        if args.json:
            print(json.dumps(result, indent=1))
        else:
            print_models(result)
        return 0
    return 2


def _spinner(text: str):
    """A transient status line for a step that takes seconds and reports no progress of its own."""
    from rich.console import Console

    return Console(stderr=True).status(text)
