"""A session's context kept for the next one-shot process, after a turn that never loaded the LLM.

A one-shot `earshot ask` saves its session's evaluated context (files, project, recent turns, up to
"Request:") on disk after its turn, so the next process evaluates only its request (kv_states.py). A turn the
command path planned never loads the LLM (that is why it answers in under a second), so it saved nothing — and
it changed the context (a new file, a new turn): the next request the LLM plans evaluated the session's whole
context again, ~800 tokens, ~40 s on two cores (`scripts/demo.sh`, turn 7, after six command-path turns).

So such a turn starts a keeper instead, as `git gc --auto` detaches its housekeeping: `earshot models warm
--session ID` in a new process group, at the lowest CPU priority, its output appended to `context-keeper.log`
in the cache folder. A user who reads the reply before the next request finds the context kept. A request
that comes sooner and needs the LLM stops the session's keepers first (`stop_keepers`) and evaluates what it
needs itself, as before, with whatever the keeper saved: two llama.cpp processes on the same two cores slowed
the request's own evaluation ~3× (demo turn 7: 98.6 s for 661 tokens beside an idle-class keeper), and
waiting for the keeper was slower than evaluating with both cores. Keepers of a session take turns under its
lock; one started while another runs waits and then reads the session as it is by then, and one started while
another is already waiting has nothing left to do (so a run of command-path turns starts at most one keeper
running and one waiting).

`EARSHOT_NO_BACKGROUND=1` (the test suite sets it) or `[llm] keep_context_in_background = false` turns it off.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

NO_BACKGROUND_ENV = "EARSHOT_NO_BACKGROUND"
KEEPER_NICE = 19  # where the idle scheduling class is refused: the lowest priority instead
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
        _claim(queue)
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        _claim(lock)
        fcntl.flock(queue.fileno(), fcntl.LOCK_UN)  # the next keeper may queue behind this one now
        try:
            yield True
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _claim(fh) -> None:
    """Write this process's id into a lock file it holds: `stop_keepers` reads it."""
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()).encode())
    fh.flush()


def stop_keepers(cache_dir: Path, session_id: str) -> int:
    """Stop the session's keepers (the waiting one first, so it does not take over): a process about to evaluate
    with the LLM itself is faster alone. Returns how many were stopped. Only a process that holds a keeper's
    lock and runs `models warm --session` for this session is signalled."""
    path = lock_path(cache_dir, session_id)
    stopped = 0
    for held in (path.with_suffix(".queue"), path):
        try:
            fh = open(held, "rb")  # noqa: SIM115 - closed below
        except OSError:
            continue
        with fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
                continue  # nobody holds it
            except BlockingIOError:
                pass
            try:
                pid = int(fh.read().decode() or 0)
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if pid > 0 else []
            except (OSError, ValueError):
                continue
            if b"warm" in command and session_id.encode() in command:
                try:
                    os.kill(pid, signal.SIGTERM)
                    stopped += 1
                except OSError:
                    pass
    return stopped


def _idle_priority() -> None:
    """In the child before exec: only CPU time no other process wants (SCHED_IDLE), else the lowest nice."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(KEEPER_NICE)


def background_allowed(enabled: bool) -> bool:
    return enabled and os.environ.get(NO_BACKGROUND_ENV, "") in ("", "0")


def start_keeper(cache_dir: Path, session_id: str, llm_name: str | None) -> subprocess.Popen | None:
    """Start `earshot models warm --session ID` detached (its own session, the idle scheduling class, output to
    the log); None when it could not be started (the next request then evaluates the context itself)."""
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
                preexec_fn=_idle_priority,  # noqa: PLW1509 - no threads touched before exec
                close_fds=True,
            )
    except OSError as exc:
        print(f"earshot: could not start keeping the session's context ({exc})", file=sys.stderr)
        return None
