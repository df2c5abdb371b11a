"""Kill points for crash testing: the places where a crash would matter, named.

Production code calls `point("artifact_write")` where a SIGKILL would test a promise (a file half
written, a transaction half committed). Normally that is one dictionary lookup and nothing happens.
With `EARSHOT_FAULT=artifact_write:3` in the environment, the process kills itself with SIGKILL the
third time it reaches that point — no cleanup, no `finally`, no flush, exactly like a power cut of the
process. `earshot bench crash` uses it to reach each point deterministically; it also kills from
outside after random delays, for the places nobody thought to name.

This module is the only reader of EARSHOT_FAULT. It is re-read after a fork (the crash bench forks
its workers from a warm process).
"""

from __future__ import annotations

import os
import signal

# Every named point, with where it sits: `earshot bench crash` reports which ones its trials reached.
POINTS = {
    "turn_begin": "store/session.py: a turn's row committed, nothing run yet",
    "turn_end": "store/session.py: a turn's final status committed, the reply not yet shown",
    "tool_run": "executor.py: a tool run recorded as running, the tool not yet started",
    "tool_progress": "audio_models/base.py: a tool reporting progress (mid-work: renders, exports)",
    "artifact_write": "audio/files.py, audio_models/base.py: an output's bytes written to its temporary name",
    "artifact_publish": "store/session.py: an output linked to its final name, not yet registered",
    "artifact_register": "store/session.py: an artifact's row inserted, its transaction not yet committed",
    "project_op": "project/store.py: one change of a group written, the group's transaction still open",
    "project_commit": "project/store.py: a group's changes and the new head written, not yet committed",
    "mixdown": "project/mixdown.py: between two tracks of a render",
    "export": "project/dawproject.py: a .dawproject assembled in memory, not yet written",
    "model_block": "runtime/models.py: one block of a model file copied into its temporary file",
    "model_stamp": "runtime/models.py: a model file renamed into place, its verified stamp not yet written",
}

_armed: tuple[int, str, int] | None = None  # (pid it was read in, point, the hit that kills)
_hits: dict[str, int] = {}


def _arm() -> tuple[int, str, int]:
    global _armed, _hits
    spec = os.environ.get("EARSHOT_FAULT", "")
    name, _, nth = spec.partition(":")
    _armed = (os.getpid(), name.strip(), int(nth) if nth.strip().isdigit() else 1)
    _hits = {}
    return _armed


def point(name: str) -> None:
    """A named place where a crash matters; kills the process when EARSHOT_FAULT says so."""
    armed = _armed
    if armed is None or armed[0] != os.getpid():
        armed = _arm()
    if not armed[1] or armed[1] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= armed[2]:
        os.kill(os.getpid(), signal.SIGKILL)
