"""A session's context kept for the next one-shot process, after a turn that never loaded the LLM.

A one-shot `earshot ask` saves its session's evaluated context (files, project, recent turns, up to
"Request:") on disk after its turn, so the next process evaluates only its request (kv_states.py). A turn the
command path planned never loads the LLM (that is why it answers in under a second), so it saved nothing — and
it changed the context (a new file, a new turn): the next request the LLM plans evaluated the session's whole
context again, ~800 tokens, ~40 s on two cores (`scripts/demo.sh`, turn 7, after six command-path turns).

So such a turn starts a keeper instead, as `git gc --auto` detaches its housekeeping: `earshot models warm
--session ID` in a new process group, at low CPU priority, its output appended to `context-keeper.log` in the
cache folder, on one thread (the user's own work keeps the other core). The keeper holds the session's lock
while it evaluates; a keeper started while another runs waits for it and then evaluates only what changed
since (one waits at most: the rest have nothing left to do), and a process about to plan with the LLM waits
for the keeper (`wait_for_keeper`) instead of evaluating the same tokens beside it on the same cores.

`EARSHOT_NO_BACKGROUND=1` (the test suite sets it) or `[llm] keep_context_in_background = false` turns it off.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

NO_BACKGROUND_ENV = "EARSHOT_NO_BACKGROUND"
KEEPER_NICE = 10  # below the user's own work: the keeper only saves the next request time
LOG_NAME = "context-keeper.log"


def lock_path(cache_dir: Path, session_id: str) -> Path:
    return Path(cache_dir) / "keepers" / f"{session_id}.lock"


@contextlib.contextmanager
def keeper_turn(cache_dir: Path, session_id: str) -> Iterator[bool]:
    """The session's keeper lock, for one keeper at a time; yields False (without waiting) when another keeper
    is already waiting for it — that one reads the session when its turn comes, so it keeps this turn's
    context too, and a chain of command-path turns starts at most one keeper running and one waiting.
    The locks are flocks: a keeper that dies releases them with its file descriptors."""
    path = lock_path(cache_dir, session_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".queue"), "a+b") as queue, open(path, "a+b") as lock:
        try:
            fcntl.flock(queue.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        fcntl.flock(queue.fileno(), fcntl.LOCK_UN)  # the next keeper may queue behind this one now
        try:
            yield True
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def wait_for_keeper(cache_dir: Path, session_id: str, timeout_s: float = 300.0) -> float:
    """Wait until no keeper of the session holds its lock (at most `timeout_s`); returns the seconds waited.
    Without a keeper (no lock file, or nobody holding it) it returns at once."""
    path = lock_path(cache_dir, session_id)
    if not path.exists():
        return 0.0
    t0 = time.monotonic()
    try:
        fh = open(path, "rb")  # noqa: SIM115 - held across the polling loop below
    except OSError:
        return 0.0
    with fh:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.monotonic() - t0 >= timeout_s:
                    break  # a keeper that never ends must not hold a request up for ever
                time.sleep(0.05)
                continue
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
            break
    return time.monotonic() - t0


def background_allowed(enabled: bool) -> bool:
    return enabled and os.environ.get(NO_BACKGROUND_ENV, "") in ("", "0")


def start_keeper(cache_dir: Path, session_id: str, llm_name: str | None) -> subprocess.Popen | None:
    """Start `earshot models warm --session ID` detached (a new session, niced, output to the log); None
    when it could not be started (the next request then evaluates the context itself, as before)."""
    cache_dir = Path(cache_dir)
    command = [sys.executable, "-m", "assistant", "models", "warm", "--session", session_id]
    if llm_name:
        command += ["--llm", llm_name]
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with open(cache_dir / LOG_NAME, "ab") as log:
            return subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # not killed with the terminal's process group when `ask` returns
                preexec_fn=lambda: os.nice(KEEPER_NICE),  # noqa: PLW1509 - no threads touched before exec
                close_fds=True,
            )
    except OSError as exc:
        print(f"earshot: could not start keeping the session's context ({exc})", file=sys.stderr)
        return None
