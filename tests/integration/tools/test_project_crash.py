"""kill -9 in the middle of a render: a child process renders a long project while another thread
keeps committing edits; the parent kills it mid-render and checks that every edit the child reported
as committed is in the log, that the log replays to the cached head, that the database is intact,
and that undo and a new render work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assistant.audio.files import load_audio
from assistant.project import Project, mixdown
from assistant.project.patch import same
from assistant.store.session import SessionStore

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent("""
    import sys, threading, time
    from pathlib import Path
    import numpy as np, soundfile as sf
    from assistant.audio.files import load_audio
    from assistant.project import Project, mixdown
    from assistant.store.session import SessionStore

    lock = threading.Lock()

    def say(*words):   # one write per line, under a lock: two threads print
        with lock:
            sys.stdout.write(" ".join(map(str, words)) + "\\n")
            sys.stdout.flush()

    home = Path(sys.argv[1])
    store = SessionStore(home / "earshot.db")
    session = store.create_session(home / "ws")
    rate = 44100
    path = session.workspace / "noise.wav"
    sf.write(path, (np.random.default_rng(0).standard_normal(rate * 3) * 0.05).astype(np.float32), rate)
    src = {"artifact": 1, "path": str(path), "name": "noise.wav", "duration_s": 3.0, "sample_rate_hz": rate,
           "channels": 1}
    p = Project(session)
    with p.changes() as tx:
        for t in range(4):
            tid = tx.apply("add_track", name=f"T{t}").ref
            tx.apply("add_effect", owner=tid, kind="reverb")
            tx.apply("add_effect", owner=tid, kind="compressor")
            for k in range(20):
                tx.apply("place_clip", track_id=tid, start=3.0 * k, unit="seconds", source=src)
    say("SESSION", session.id)

    def editor():
        p2 = Project(SessionStore(home / "earshot.db").open_session(session.id))
        n = 0
        while True:
            n += 1
            if n % 7 == 0:
                changes = p2.undo(1)
            elif n % 5 == 0:
                changes = [p2.apply("add_effect", owner="t1", kind="delay")]
            else:
                changes = [p2.apply("set_track", track_id="t1", gain_db=-0.5 * (n % 40), pan=((n % 9) - 4) / 4)]
            for c in changes:
                say("COMMITTED", c.seq)

    threading.Thread(target=editor, daemon=True).start()
    mixdown.render(p.state(), lambda s: load_audio(s["path"], mono=False),
                   lambda f, m: say("PROGRESS", round(f, 3)))
    say("DONE")
""")


def test_kill_minus_9_during_a_render_loses_no_operation(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, PYTHONPATH=str(ROOT), ORT_DISABLE_TELEMETRY="1")
    child = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(ROOT),
    )
    committed: list[int] = []
    progress = 0
    session_id = None
    deadline = time.monotonic() + 300
    try:
        for line in child.stdout:
            word, _, value = line.strip().partition(" ")
            if word == "SESSION":
                session_id = value
            elif word == "COMMITTED":
                committed.append(int(value))
            elif word == "PROGRESS":
                progress += 1
            elif word == "DONE":
                pytest.fail("the render finished before the kill: make the project longer")
            if progress >= 12 and len(committed) >= 10:
                os.kill(child.pid, signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "the child never got going"
        rest = child.stdout.read()  # lines flushed before the kill are still in the pipe
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(30)
    committed += [int(lab.split()[1]) for lab in rest.splitlines() if lab.startswith("COMMITTED ")]
    assert child.returncode == -signal.SIGKILL, child.stderr.read()[-2000:]
    assert "DONE" not in rest
    store = SessionStore(tmp_path / "earshot.db")
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    project = Project(store.open_session(session_id))
    logged = {r["seq"] for r in project.log()}
    lost = sorted(set(committed) - logged)
    print(
        json.dumps(
            {
                "progress_lines_before_kill": progress,
                "committed_reported": len(committed),
                "in_log": len(logged),
                "lost": lost,
            }
        )
    )
    assert committed and not lost
    head = store.db.execute("SELECT seq FROM project_heads WHERE session_id=?", (session_id,)).fetchone()[0]
    assert head == max(logged)
    assert same(project.replay(), project.state())
    before = project.state()
    project.apply("set_tempo", bpm=99.0)
    project.undo(1)
    assert same(project.state(), before)
    # and the project still renders (a short piece of it, to keep the test quick)
    with project.changes() as tx:
        for cid in [c for c in tx.state["clips"] if tx.state["clips"][c]["start"] > 3.0]:
            tx.apply("delete_clip", clip_id=cid)
    out = mixdown.render(project.state(), lambda s: load_audio(s["path"], mono=False))
    assert out.audio.shape[0] > 3 * 44100 and float(abs(out.audio).max()) > 0.01
