"""Nothing lost: SIGKILL at random points (the crash bench's campaign), a half-installed model, a full
disk while writing an artifact or the database, and two `earshot ask` on one session at once."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from assistant.bench.crash_bench import PROBLEMS
from assistant.faults import POINTS
from assistant.health import check_store
from assistant.store.session import SessionStore
from tests.conftest import REAL_MODELS_DIR, require_models

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def earshot(*args, home: Path, models: Path = REAL_MODELS_DIR, extra_env: dict | None = None, timeout=600):
    env = dict(os.environ, EARSHOT_HOME=str(home), EARSHOT_MODELS=str(models), ORT_DISABLE_TELEMETRY="1")
    env["PYTHONPATH"] = str(ROOT)
    env.pop("EARSHOT_FAULT", None)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def plan_file(path: Path, *steps: tuple[str, dict], padding: int = 0) -> Path:
    """A plan for `earshot ask --plan`; `padding` spaces after the JSON make its recorded text that long."""
    path.write_text(json.dumps({"say": None, "steps": [{"tool": t, "args": a} for t, a in steps]}) + " " * padding)
    return path


# -- SIGKILL at random points ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    from assistant.bench.crash_bench import run_crash_bench

    home = tmp_path_factory.mktemp("crash-home")
    result = run_crash_bench(trials=60, seed=16, home=home)
    summary = {k: v for k, v in result.items() if k != "rows"}
    print(json.dumps(summary, indent=1))
    return result


def test_sigkill_at_random_points_loses_nothing_reported_done(campaign):
    r = campaign
    assert r["killed"] >= 50, r
    assert set(r["points_covered"]) == set(POINTS), "every named kill point killed a process at least once"
    assert r["killed_from_outside"] >= 25 and r["killed_at_points"] >= 25
    # the processes did real work before they died, and reported some of it done
    assert r["turns_reported_done"] >= 30 and r["project_changes_reported"] >= 10 and r["artifacts_registered"] >= 10
    for key in PROBLEMS:
        assert r[key] == 0, (key, [row for row in r["rows"] if row["problems"]][:5])
    # a restarted process always worked on what the crashes left (no error, no failed tool)
    assert r["worker_errors"] == [] and r["tool_failures"] == []
    assert r["scratch_files_swept"] == r["scratch_files_left"]


def test_doctor_reports_the_state_the_crashes_left(campaign):
    require_models("hibari-heart", "whisper-tiny.en")
    proc = earshot("doctor", "--json", home=Path(campaign["home"]))
    report = json.loads(proc.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["session database"]["ok"] and "integrity ok" in checks["session database"]["detail"]
    assert f"{campaign['turns_cut_off']} cut off by a crash" in checks["session database"]["detail"]
    assert checks["projects"]["ok"] and checks["artifacts"]["ok"], checks
    # the offline check: a speak → transcribe self-test turn with the process's audit hook on
    assert checks["network"]["ok"], checks["network"]
    net = report["network"]
    assert net["turn"] == "ok" and net["inet"] == [] and net["lookups"] == [] and net["inet_sockets_held"] == []


# -- a half-installed model -----------------------------------------------------------------------------
def test_half_installed_model_is_caught_by_sha256_and_repaired(tmp_path):
    from assistant.config import PathOptions
    from assistant.errors import ModelMissing
    from assistant.runtime.models import ModelStore

    models = tmp_path / "models"
    home = tmp_path / "home"
    # `earshot models install` killed by SIGKILL half-way through the model's file (its second 4 MB block)
    killed = earshot(
        "models",
        "install",
        "--model",
        "hibari-heart",
        "--offline",
        home=home,
        models=models,
        extra_env={"EARSHOT_FAULT": "model_block:1"},
    )
    assert killed.returncode == -9, killed.stderr[-500:]
    store = ModelStore(PathOptions(home_dir=home, models_dir=models))
    assert store.status(["hibari-heart"])[0].state == "missing" and len(store.partials()) == 1
    # a half-written file under the real name (as a copy cut short would leave), and one of the right size
    # with other bytes: the size check catches the first, only the sha256 the second
    entry = store.entry("hibari-heart")
    target = store.folder("hibari-heart") / entry.files[0].path
    target.parent.mkdir(parents=True, exist_ok=True)
    good = Path(REAL_MODELS_DIR / "hibari-heart" / entry.files[0].path).read_bytes()
    target.write_bytes(good[: len(good) // 2])
    with pytest.raises(ModelMissing, match="corrupt"):
        store.path("hibari-heart")
    target.write_bytes(good[:-16] + b"\0" * 16)
    with pytest.raises(ModelMissing, match="sha256"):
        store.path("hibari-heart")
    verify = earshot("models", "verify", "--json", home=home, models=models)
    states = {(s["model"], Path(s["path"]).name): s["state"] for s in json.loads(verify.stdout)}
    assert verify.returncode == 1 and states[("hibari-heart", "hibari.onnx")] == "corrupt"
    repaired = earshot("models", "install", "--model", "hibari-heart", "--offline", home=home, models=models)
    assert repaired.returncode == 0, repaired.stderr[-500:]
    assert store.path("hibari-heart").read_bytes() == good
    assert store.partials() == []  # what the killed install left was removed


# -- a full disk ----------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs made for the test (needs root or CAP_SYS_ADMIN; skipped with the reason otherwise)."""
    mnt = tmp_path / "small-disk"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here: a small tmpfs cannot be made")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"a 2 MB tmpfs cannot be mounted here ({made.stderr.strip()[:120]}): needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_full_while_writing_an_artifact_is_a_clear_error_and_nothing_is_corrupt(tmp_path, small_disk):
    home = tmp_path / "home"
    sf.write(small_disk / "tone.wav", (0.3 * np.sin(np.arange(16_000) * 0.1)).astype(np.float32), 16_000)
    big = plan_file(tmp_path / "big.json", ("generate_sound", {"layers": ["rain"], "duration_s": 30.0}))
    proc = earshot("ask", "30 s of rain", "--plan", str(big), "--no-speak", "--workspace", str(small_disk), home=home)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "System error" not in proc.stdout + proc.stderr
    said = " ".join(proc.stdout.split())  # the reply, unwrapped
    assert "generate_sound) failed: the disk holding" in said and "is full" in said, said
    assert "nothing was written — free some space" in said
    # nothing half-written anywhere on the small disk, and it still takes a write that fits
    assert sorted(p.name for p in small_disk.iterdir()) == ["tone.wav"]
    small = plan_file(tmp_path / "small.json", ("edit", {"op": "gain", "file": "tone.wav", "gain_db": -3.0}))
    proc = earshot("ask", "quieter", "--plan", str(small), "--no-speak", "--workspace", str(small_disk), home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = check_store(home / "earshot.db")
    assert report.ok and not report.partials and report.artifacts == 2, report
    db = sqlite3.connect(home / "earshot.db")
    runs = db.execute("SELECT tool, status, error FROM tool_runs ORDER BY id").fetchall()
    assert [r[:2] for r in runs] == [("generate_sound", "failed"), ("edit", "ok")] and "is full" in runs[0][2]


def test_disk_full_under_the_session_database_is_one_line_and_the_database_survives(tmp_path, small_disk):
    home = small_disk / "home"
    ws = tmp_path / "ws"
    ws.mkdir()
    sf.write(ws / "tone.wav", (0.3 * np.sin(np.arange(16_000) * 0.1)).astype(np.float32), 16_000)
    small = plan_file(tmp_path / "small.json", ("edit", {"op": "gain", "file": "tone.wav", "gain_db": -3.0}))
    first = earshot("ask", "quieter", "--plan", str(small), "--no-speak", "--workspace", str(ws), home=home)
    assert first.returncode == 0, first.stderr
    # 1) the disk fills up during a turn: the plan's recorded text (1.5 MB) does not fit in the 100 KB left;
    # 2) it is full to the last block: SQLite cannot even open the database (its shared-memory file)
    big = plan_file(tmp_path / "big.json", ("edit", {"op": "gain", "file": "tone.wav"}), padding=1_500_000)
    filler = small_disk / "filler"
    for leave_bytes in (100_000, 0):
        st = os.statvfs(small_disk)
        with open(filler, "ab", buffering=0) as fh:
            try:
                fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave_bytes))
                while leave_bytes == 0:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        full = earshot("ask", "quieter again", "--plan", str(big), "--no-speak", "--workspace", str(ws), home=home)
        assert full.returncode == 2 and "Traceback" not in full.stderr, full.stderr[-1500:]
        lines = [line for line in full.stderr.splitlines() if line.startswith("earshot: error:")]
        assert len(lines) == 1 and "full" in lines[0] and "free some space" in lines[0], full.stderr[-800:]
        assert "move it aside" not in lines[0]  # nothing is wrong with the database itself
        print(lines[0])
    filler.unlink()
    report = check_store(home / "earshot.db")
    assert report.integrity == "ok" and not report.artifact_problems, report
    again = earshot("ask", "quieter", "--plan", str(small), "--no-speak", "--workspace", str(ws), home=home)
    assert again.returncode == 0, again.stderr


# -- two `earshot ask` on one session at once -----------------------------------------------------------
def test_two_asks_on_one_session_at_once_both_recorded(tmp_path):
    home = tmp_path / "home"
    ws = tmp_path / "ws"
    ws.mkdir()
    store = SessionStore(home / "earshot.db")
    session = store.create_session(ws)
    store.close()
    # Each turn: a sound made, edited, placed on a track and the project mixed down: turn, plan, tool-run,
    # artifact and project rows written by both processes at the same moments, on one session.
    busy = plan_file(
        tmp_path / "busy.json",
        ("generate_sound", {"layers": ["rain"], "duration_s": 3.0}),
        ("edit", {"op": "gain", "file": "$1", "gain_db": -2.0}),
        ("clip", {"op": "place", "file": "$2", "track": "rain", "at": 0, "unit": "bars"}),
        ("render_project", {"op": "mixdown"}),
    )
    env = dict(os.environ, EARSHOT_HOME=str(home), EARSHOT_MODELS=str(REAL_MODELS_DIR), PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "assistant", "ask", "rain on a track, mixed", "--plan", str(busy)]
    cmd += ["--no-speak", "--json", "--session", session.id]
    # A third writer (a UI renaming the session, say) holds the write lock 100 ms at a time throughout, so
    # the two processes' writes surely meet a held lock, not only each other's short transactions.
    stop = threading.Event()
    held = []

    def hold_the_lock() -> None:
        db = sqlite3.connect(home / "earshot.db", timeout=30, isolation_level=None)
        while not stop.is_set():
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE sessions SET title=title WHERE id=?", (session.id,))
            time.sleep(0.1)
            db.execute("COMMIT")
            held.append(1)
            time.sleep(0.05)
        db.close()

    holder = threading.Thread(target=hold_the_lock, daemon=True)
    holder.start()
    replies = []
    try:
        for _round in range(2):
            procs = [
                subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
                for _ in range(2)
            ]
            for proc in procs:
                out, err = proc.communicate(timeout=600)
                assert "locked" not in (out + err).lower() and "Traceback" not in err, err[-1500:]
                assert proc.returncode == 0, err[-1500:]
                replies.append(json.loads(out.splitlines()[-1]))
    finally:
        stop.set()
        holder.join(10)
    # The holder took the lock many times while the processes wrote (each process takes ~3 s now that a
    # one-shot ask with a given plan loads no LLM afterwards; 20 holds in the fresh-clone run).
    assert len(held) >= 8
    assert all(r["type"] == "reply" for r in replies)
    store = SessionStore(home / "earshot.db")
    turns = {t["id"]: t for t in store.open_session(session.id).turns()}
    store.close()
    assert len(turns) == 4 and all(t["status"] == "ok" for t in turns.values())
    assert all(turns[r["turn_id"]]["reply_text"] == r["text"] for r in replies)
    report = check_store(home / "earshot.db")
    assert report.ok and report.projects == 1 and report.artifacts == 12, report
    # renders of one project at once: every file under its own name, none overwrote another
    made = [set(r["artifacts"]) for r in replies]
    assert all(len(m) == 3 for m in made) and len(set().union(*made)) == 12
