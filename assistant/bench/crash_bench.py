"""`earshot bench crash`: kill Earshot with SIGKILL at random points, restart, and check nothing was lost.

SQLite's way of earning trust, applied to Earshot's promises. Each trial forks a process that does
real work on one session — turns on the one turn path with canned plans (tool runs, artifact writes,
project edits, mixdowns, stem and DAWproject exports) or a model install — and kills it with SIGKILL:

- at a **named kill point** (assistant/faults.py: `EARSHOT_FAULT=artifact_write:2` makes the process
  kill itself the second time it gets there), cycling through every point, or
- **from outside after a random delay**, for the places nobody thought to name.

After every trial the next process is a restart, and before it starts the bench checks (health.py):
the database's integrity; every turn the process *reported done* (its reply was shown) is in the
history with that reply; every project change it reported is in the log; the project equals what its
operation log replays to; every registered artifact is complete (its sha256, and it decodes to the
length recorded); no empty or half-written file sits under a real name; a model install cut short is
caught by its sha256 (never a stamp that lies) and a new install repairs it. A process that fails
instead of dying (an error a crash left behind) is counted too.
"""

from __future__ import annotations

import multiprocessing
import random
import shutil
import tempfile
import time
from pathlib import Path

from ..faults import POINTS

TURN_POINTS = [p for p in POINTS if not p.startswith("model_")]
INSTALL_POINTS = ["model_block", "model_stamp"]

# What must stay zero after every kill (each a count over the whole campaign).
PROBLEMS = (
    "lost_turns",
    "lost_changes",
    "lost_artifacts",
    "corrupt_artifacts",
    "debris_files",
    "project_mismatches",
    "integrity_failures",
    "lying_model_stamps",
    "models_not_repaired",
)


def _context():
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["assistant.bench.crash_worker"])
    return ctx


def run_crash_bench(trials: int = 60, seed: int = 0, home: Path | None = None, progress=None) -> dict:
    """Run until `trials` processes were killed (trials that finish before their kill are run and
    checked too, and reported). Returns the figures."""
    from ..health import check_store
    from ..project import Project
    from ..runtime.models import ModelStore
    from ..store.session import SessionStore
    from . import crash_worker as worker

    t0 = time.monotonic()
    own_home = home is None
    home = Path(tempfile.mkdtemp(prefix="earshot-crash-")) if home is None else Path(home)
    home.mkdir(parents=True, exist_ok=True)
    config = worker.config_for(home)
    store = SessionStore(config.paths.database_path)
    session = store.create_session(home / "workspace")
    worker.make_inputs(session.workspace)
    store.close()
    ctx = _context()
    rng = random.Random(seed)
    durations: dict[str, list[float]] = {"turns": [], "install": []}
    verified: dict[str, tuple[int, int]] = {}
    acked_turns: dict[int, str] = {}
    acked_changes: set[int] = set()
    rows: list[dict] = []
    figures = {
        "lost_turns": 0,
        "lost_changes": 0,
        "lost_artifacts": 0,
        "corrupt_artifacts": 0,
        "debris_files": 0,
        "project_mismatches": 0,
        "integrity_failures": 0,
        "lying_model_stamps": 0,
        "models_not_repaired": 0,
        "worker_errors": [],
        "tool_failures": [],
    }

    # The first run is not killed: it sets the project up and measures how long a job takes.
    first = _run(ctx, home, session.id, {"kind": "turns", "turns": 3, "seed": rng.randrange(1 << 30)}, None)
    durations["turns"].append(first["elapsed_s"])
    first_install = _run(ctx, home, session.id, {"kind": "install"}, None)
    durations["install"].append(first_install["elapsed_s"])
    for r in (first, first_install):
        figures["worker_errors"] += r["errors"]
    _hold(first, acked_turns, acked_changes, figures)

    n = killed = 0
    next_point = {False: 0, True: 0}  # the next kill point to try, for turn jobs and for installs
    # processes killed at a named point (True) and from outside (False), counted per job kind (install or
    # not), so the installs' own points are reached however the kills of the turn jobs happen to alternate
    kills_by = {(install, named): 0 for install in (False, True) for named in (False, True)}
    while killed < trials and n < trials * 3:
        n += 1
        install = n % 5 == 0  # every fifth job installs a model
        job = (
            {"kind": "install"}
            if install
            else {"kind": "turns", "turns": rng.randrange(2, 5), "seed": rng.randrange(1 << 30)}
        )
        # Half the kills at named points, half from outside: whichever kind has killed fewer jobs of this
        # kind goes next. A named kill point: each in turn (again until one died there).
        if kills_by[install, True] <= kills_by[install, False]:
            points = INSTALL_POINTS if install else TURN_POINTS
            point = points[next_point[install] % len(points)]
            job["fault"] = f"{point}:{rng.randrange(1, 3)}"
            if point in worker.REACHES:
                job["first"] = worker.REACHES[point]
            delay = None
        else:  # from outside, after a random delay within the length of a long job (so kills reach late work)
            longest = max(durations[job["kind"]][-9:])
            delay = rng.uniform(0.0, longest)
        result = _run(ctx, home, session.id, job, delay)
        if result["killed"]:
            killed += 1
            kills_by[install, delay is None] += 1
            if job.get("fault"):
                next_point[install] += 1
        else:
            durations[job["kind"]].append(result["elapsed_s"])
        figures["worker_errors"] += result["errors"]
        for failure in result["tool_failures"]:
            figures["tool_failures"].append(failure)
        _hold(result, acked_turns, acked_changes, figures)

        # -- the restart's checks ------------------------------------------------------------------
        report = check_store(config.paths.database_path, verified=verified)
        lost_turns, lost_changes, lost_artifacts = _lost(
            config.paths.database_path, session.id, acked_turns, acked_changes, result
        )
        figures["lost_turns"] += lost_turns
        figures["lost_changes"] += lost_changes
        figures["lost_artifacts"] += lost_artifacts
        figures["corrupt_artifacts"] += len(report.artifact_problems)
        figures["debris_files"] += len(report.debris)
        figures["project_mismatches"] += len(report.project_problems)
        figures["integrity_failures"] += report.integrity != "ok"
        model = _check_model(config.paths) if install else None
        if model is not None:
            figures["lying_model_stamps"] += model["stamp_lied"]
            figures["models_not_repaired"] += not model["repaired"]
        row = {
            "trial": n,
            "job": job["kind"] if install else f"{job['turns']} turns",
            "kill": job.get("fault") or (f"after {delay:.2f} s" if delay is not None else None),
            "killed": result["killed"],
            "where": result["point"] if result["killed"] and job.get("fault") else result["phase"],
            "elapsed_s": round(result["elapsed_s"], 2),
            "acknowledged": result["acks"],
            "turns_cut_off": report.turns_cut_off,
            "problems": report.artifact_problems
            + report.debris
            + report.project_problems
            + ([report.integrity] if report.integrity != "ok" else [])
            + ([f"model: {model}"] if model and (model["stamp_lied"] or not model["repaired"]) else []),
        }
        rows.append(row)
        if progress:
            progress(
                f"trial {n}: {row['job']}, kill {row['kill']} → "
                + (f"killed ({row['where']})" if row["killed"] else "finished first")
                + f", {row['acknowledged']} reported done, "
                + ("all intact" if not row["problems"] else f"PROBLEMS: {row['problems']}")
            )

    # The end: one more (unkilled) run must work on what all those crashes left, then a full re-check.
    final = _run(ctx, home, session.id, {"kind": "turns", "turns": 3, "seed": 99}, None)
    figures["worker_errors"] += final["errors"]
    figures["tool_failures"] += final["tool_failures"]
    _hold(final, acked_turns, acked_changes, figures)
    report = check_store(config.paths.database_path)
    lost = _lost(config.paths.database_path, session.id, acked_turns, acked_changes, final)
    project_ok = _project_replays(config.paths.database_path, session.id)
    with_points = [r for r in rows if r["killed"] and r["kill"] and not r["kill"].startswith("after")]
    random_kills = [r for r in rows if r["killed"] and r["kill"] and r["kill"].startswith("after")]
    store = SessionStore(config.paths.database_path)
    project_len = len(Project(store.open_session(session.id)).log())
    turns_total = len(store.open_session(session.id).turns())
    store.close()
    partials = ModelStore(config.paths).partials()
    store = SessionStore(config.paths.database_path)
    swept = store.open_session(session.id).remove_stale_scratch(older_than_s=0.0)  # no process runs now
    store.close()
    result = {
        "trials": n,
        "killed": killed,
        "killed_at_points": len(with_points),
        "killed_from_outside": len(random_kills),
        "points_covered": sorted({r["where"] for r in with_points}),
        "points_total": len(POINTS),
        "outside_kill_phases": sorted({r["where"] for r in random_kills if r["where"]}),
        "turns_reported_done": len(acked_turns),
        "turns_in_history": turns_total,
        "turns_cut_off": report.turns_cut_off,
        "project_changes_reported": len(acked_changes),
        "project_log_rows": project_len,
        "artifacts_registered": report.artifacts,
        "lost_turns": figures["lost_turns"] + lost[0],
        "lost_changes": figures["lost_changes"] + lost[1],
        "lost_artifacts": figures["lost_artifacts"] + lost[2],
        "corrupt_artifacts": figures["corrupt_artifacts"] + len(report.artifact_problems),
        "debris_files": figures["debris_files"] + len(report.debris),
        "project_mismatches": figures["project_mismatches"] + len(report.project_problems) + (not project_ok),
        "integrity_failures": figures["integrity_failures"] + (report.integrity != "ok"),
        "scratch_files_left": len(report.partials),  # invisible to the planner; swept when stale
        "scratch_files_swept": swept,
        "model_partials_left": len(partials),
        "lying_model_stamps": figures["lying_model_stamps"],
        "models_not_repaired": figures["models_not_repaired"],
        "worker_errors": figures["worker_errors"],
        "tool_failures": figures["tool_failures"],
        "elapsed_s": round(time.monotonic() - t0, 1),
        "home": str(home),
        "rows": rows,
    }
    if own_home and not (result["worker_errors"] or result["corrupt_artifacts"] or result["lost_turns"]):
        shutil.rmtree(home, ignore_errors=True)
        result["home"] = None
    return result


def _run(ctx, home: Path, session_id: str, job: dict, delay: float | None) -> dict:
    """Start one process, kill it (after `delay`, or let its kill point do it), collect what it reported."""
    from . import crash_worker

    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=crash_worker.run_job, args=(str(home), session_id, job, send), daemon=True)
    started = time.monotonic()
    proc.start()
    send.close()
    messages: list[tuple] = []
    deadline = started + 120  # a job that hangs is a finding too: it is killed and reported
    while True:
        now = time.monotonic()
        if delay is not None and now - started >= delay and proc.is_alive():
            proc.kill()
            delay = None
        try:
            if recv.poll(0.005 if delay is not None else 0.05):
                messages.append(recv.recv())
                continue
        except (EOFError, OSError):
            break
        except Exception:  # a message torn by the kill: it was never fully reported
            break
        if not proc.is_alive() and not recv.poll(0):
            break
        if now > deadline:
            proc.kill()
            messages.append(("error", f"the job hung for 120 s: {job}"))
            deadline = float("inf")
    proc.join(30)
    recv.close()
    elapsed = time.monotonic() - started
    phase = next((m[1] for m in reversed(messages) if m[0] == "phase"), "starting")
    errors = [m[1] for m in messages if m[0] == "error"]
    return {
        "killed": proc.exitcode == -9,
        "exitcode": proc.exitcode,
        "elapsed_s": elapsed,
        "phase": phase,
        "point": (job.get("fault") or "").split(":")[0],
        "messages": messages,
        "acks": sum(m[0] in ("reply", "tool", "installed") for m in messages),
        "errors": [f"{job}: {e}" for e in errors],
        "tool_failures": [f"{m[1]}: {m[5]}" for m in messages if m[0] == "tool" and m[2] != "ok"],
    }


def _hold(result: dict, acked_turns: dict[int, str], acked_changes: set[int], figures: dict) -> None:
    for m in result["messages"]:
        if m[0] == "reply" and m[1] is not None:
            acked_turns[m[1]] = m[2]
        elif m[0] == "tool" and m[2] == "ok":
            acked_changes.update(m[4])


def _lost(database: Path, session_id: str, acked_turns: dict, acked_changes: set, result: dict) -> tuple[int, int, int]:
    """Reported done but not in the stores: turns (with their reply), project changes, artifacts."""
    import sqlite3

    db = sqlite3.connect(database, timeout=30)
    try:
        turns = {
            r[0]: (r[1], r[2])
            for r in db.execute("SELECT id, status, reply_text FROM turns WHERE session_id=?", (session_id,))
        }
        lost_turns = sum(
            1
            for tid, text in acked_turns.items()
            if tid not in turns or turns[tid][0] == "running" or turns[tid][1] != text
        )
        seqs = (
            {r[0] for r in db.execute("SELECT seq FROM project_ops WHERE session_id=?", (session_id,))}
            if db.execute("SELECT 1 FROM sqlite_master WHERE name='project_ops'").fetchone()
            else set()
        )
        lost_changes = len(acked_changes - seqs)
        paths = {r[0] for r in db.execute("SELECT path FROM artifacts WHERE session_id=?", (session_id,))}
        lost_artifacts = sum(
            1 for m in result["messages"] if m[0] == "tool" and m[2] == "ok" for p in m[3] if p not in paths
        )
    finally:
        db.close()
    return lost_turns, lost_changes, lost_artifacts


def _project_replays(database: Path, session_id: str) -> bool:
    from ..project import Project
    from ..project.patch import same
    from ..store.session import SessionStore

    store = SessionStore(database)
    try:
        project = Project(store.open_session(session_id))
        return same(project.replay(), project.state())
    finally:
        store.close()


def _check_model(paths) -> dict:
    """After a killed install: a file whose stamp says "verified" must really match its sha256 (the
    stamp must never lie); whatever state it is in, a new install repairs it and leaves no scratch file."""
    from ..runtime.models import ModelStore
    from .crash_worker import INSTALL_MODEL

    store = ModelStore(paths)
    quick = {s.path: s.state for s in store.status([INSTALL_MODEL])}
    full = {s.path: s.state for s in store.status([INSTALL_MODEL], full=True)}
    lied = sum(1 for p, state in quick.items() if state == "ok" and full[p] != "ok")
    before = sorted(set(full.values()))
    store.install([INSTALL_MODEL], allow_download=False)
    repaired = all(s.state == "ok" for s in store.status([INSTALL_MODEL], full=True)) and not store.partials()
    return {"stamp_lied": lied, "found": before, "repaired": repaired}


def print_result(result: dict) -> None:
    from rich.console import Console

    c = Console()
    c.print(
        f"[bold]{result['killed']} processes killed[/] with SIGKILL in {result['trials']} trials "
        f"({result['killed_at_points']} at named kill points, {result['killed_from_outside']} from outside after a "
        f"random delay), {result['elapsed_s']} s"
    )
    c.print(
        f"kill points reached: {len(result['points_covered'])} of {result['points_total']}: "
        + ", ".join(result["points_covered"])
    )
    c.print(f"phases the outside kills hit: {', '.join(result['outside_kill_phases'])}")
    c.print(
        f"reported done: {result['turns_reported_done']} turns, {result['project_changes_reported']} project changes; "
        f"in the history: {result['turns_in_history']} turns ({result['turns_cut_off']} cut off by a kill), "
        f"{result['project_log_rows']} log rows, {result['artifacts_registered']} artifacts"
    )
    for key in PROBLEMS:
        c.print(f"  {key.replace('_', ' ')}: {result[key]}")
    c.print(
        f"  scratch files left in the workspace: {result['scratch_files_left']} "
        f"(swept: {result['scratch_files_swept']}); "
        f"in the model store: {result['model_partials_left']}"
    )
    c.print(
        f"  processes that failed instead of dying: {len(result['worker_errors'])}; "
        f"tool failures: {len(result['tool_failures'])}"
    )
    for e in (result["worker_errors"] + result["tool_failures"])[:10]:
        c.print(f"    {e}")
