"""`earshot models install | verify | list | warm`: the local, sha256-pinned model store."""

from __future__ import annotations

import json
import sys
import time

from ..config import load_config
from ..errors import EarshotError
from .common import spinner


def run(args) -> int:
    from ..runtime.models import ModelStore

    config = load_config()
    if getattr(args, "wheelhouse", None):
        config.paths.wheelhouse_dir = args.wheelhouse.resolve()
    store = ModelStore(config.paths)
    return {"install": _install, "verify": _verify, "warm": _warm, "list": _list}[args.models_command](
        args, config, store
    )


def _install(args, config, store) -> int:
    from ..runtime.models import InstallProgress, default_models

    names = args.model or default_models(args.asr)
    with InstallProgress() as progress:
        written = store.install(names, allow_download=not args.offline, progress=progress)
    bad = [s for s in store.status(names) if s.state != "ok"]
    if bad:
        raise EarshotError(f"{bad[0].path} is {bad[0].state} after install", "run `earshot models verify`")
    print(
        f"{len(names)} models ready in {store.root}"
        + (f" ({len(written)} files written)" if written else " (all already verified)")
    )
    return 0


def _verify(args, config, store) -> int:
    from rich.progress import Progress

    names = [
        n
        for n in store.manifest
        if any((store.folder(n) / f.path).exists() for f in store.manifest[n].files) or store.manifest[n].default
    ]
    total = sum(store.manifest[n].bytes for n in names)
    with Progress(transient=True) as progress:
        task = progress.add_task("verifying sha256", total=total)
        statuses = store.status(names, full=True, progress=lambda n: progress.advance(task, n))
    problems = [s for s in statuses if s.state != "ok"]
    if args.json:
        print(
            json.dumps(
                [{"model": s.model, "path": str(s.path), "state": s.state, "detail": s.detail} for s in statuses]
            )
        )
    for s in problems:
        fix = "earshot models install" + (" --asr base" if s.model == "whisper-base" else "")
        print(
            f"{s.model}: {s.path} is {s.state}{' (' + s.detail + ')' if s.detail else ''} — run `{fix}`",
            file=sys.stderr,
        )
    if not problems and not args.json:
        print(f"all {len(statuses)} files of {len(names)} models match their sha256")
    return 1 if problems else 0


def _warm(args, config, store) -> int:
    from ..audio_models.registry import default_registry
    from ..llm.planner import load_planner

    if getattr(args, "session", None):
        return _keep_session(args, config, store)
    for name in args.llm or [config.models.llm]:
        t0 = time.perf_counter()
        planner = load_planner(config, default_registry(), name, store)
        with spinner(f"evaluating the {name} prompt prefix (once; saved to {config.paths.cache_dir})"):
            how = planner.warm()
        tokens = planner.llm.count_tokens(planner.prefix())
        print(f"{name}: {tokens}-token prompt prefix {how} in {time.perf_counter() - t0:.1f} s")
    return 0


def _keep_session(args, config, store) -> int:
    """`warm --session ID`: the session's next context, evaluated and saved for its next process — what a
    one-shot `earshot ask` starts in the background after a command-path turn (runtime/context_keeper.py)."""
    from ..audio_models.registry import default_registry
    from ..llm.planner import load_planner
    from ..llm.streaming import StreamingPlanner
    from ..runtime.context_keeper import keeper_turn
    from ..store.session import SessionStore

    session = SessionStore(config.paths.database_path).open_session(args.session)
    name = (args.llm or [config.models.llm])[0]
    t0 = time.perf_counter()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    # Under the session's lock: a keeper started after this one waits, then evaluates only what changed.
    with keeper_turn(config.paths.cache_dir, session.id) as mine:
        if not mine:
            print(f"{stamp} session {session.id}: a keeper is already waiting to keep it", flush=True)
            return 0
        planner = load_planner(config, default_registry(), name, store)
        planner.warm()
        evaluated = StreamingPlanner(planner).keep(session)
    print(
        f"{stamp} {name}: session {session.id}: {evaluated} context tokens evaluated and saved "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )
    return 0


def _list(args, config, store) -> int:
    rows = [
        {
            "name": name,
            "role": entry.role,
            "default": entry.default,
            "licence": entry.licence,
            "size_mb": round(entry.bytes / 1e6, 1),
            "installed": store.installed(name),
            "description": entry.description,
        }
        for name, entry in store.manifest.items()
    ]
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Models in {store.root}")
    for col in ("model", "role", "size", "licence", "installed", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["name"],
            r["role"],
            f"{r['size_mb']} MB",
            r["licence"],
            "yes" if r["installed"] else ("no" if r["default"] else "no (optional)"),
            r["description"],
        )
    Console().print(table)
    return 0
