"""The offline promise, checked by the process itself: `earshot doctor`'s network line.

Python raises an audit event (PEP 578) for every socket connect, bind, send-to and name lookup made
through its socket module, whichever library asks. `watch()` installs a hook for them once per process;
`earshot doctor` turns it on before it imports anything heavy, then runs a **self-test turn** — a plan
that makes speech with the TTS (ONNX Runtime) and transcribes it with Whisper (faster-whisper,
CTranslate2), on the one turn path, in a throw-away session — and reports every connect/bind that was
not a Unix socket (PulseAudio talks over one). Code that opens sockets below Python (C or C++ inside a
library) raises no audit event, so the check also reads the kernel's socket tables (`/proc/self/net`)
for any internet socket the process holds after the turn.
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

_WATCHED = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo"}


@dataclass
class NetworkLog:
    """What the audit hook saw while it was on."""

    inet: list[str] = field(default_factory=list)  # connects/binds/sends to internet addresses: the offences
    lookups: list[str] = field(default_factory=list)  # name lookups (a host name resolved)
    unix: int = 0  # connects/binds on Unix sockets (PulseAudio, the crash bench's fork server)


_log: NetworkLog | None = None
_lock = threading.Lock()
_installed = False


def _hook(event: str, args: tuple) -> None:
    log = _log
    if log is None or event not in _WATCHED:
        return
    if event == "socket.getaddrinfo":
        log.lookups.append(f"lookup {args[0]!r}:{args[1]}")
        return
    sock, address = args[0], args[1]
    family = getattr(sock, "family", None)
    if family == socket.AF_UNIX:
        log.unix += 1
    else:
        log.inet.append(f"{event.split('.')[1]} {address!r}")


def watch() -> NetworkLog:
    """Start recording (installs the hook the first time; an audit hook cannot be removed)."""
    global _log, _installed
    with _lock:
        if not _installed:
            sys.addaudithook(_hook)
            _installed = True
        _log = NetworkLog()
        return _log


def stop() -> None:
    global _log
    _log = None


def inet_sockets_open() -> list[str]:
    """Internet sockets (TCP, UDP, raw; IPv4 and IPv6) this process holds now, from the kernel's tables."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir() if Path("/proc/self/fd").is_dir() else []:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        path = Path("/proc/self/net") / table
        try:
            lines = path.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and parts[9] in inodes:
                found.append(f"{table} {parts[1]} → {parts[2]}")
    return found


def self_test(config, registry=None, plan: str | None = None) -> dict:
    """Run one turn in a throw-away session with the hook on; what it saw. `plan`/`registry` replace the
    default self-test plan (speak → transcribe) and tools (tests add one that dials out)."""
    import asyncio
    import json

    from ..config import EarshotConfig, PathOptions
    from ..pipeline import Assistant
    from ..store.session import SessionStore

    plan = plan or json.dumps(
        {
            "say": None,
            "steps": [
                {"tool": "speak", "args": {"text": "Nothing leaves this machine."}},
                {"tool": "transcribe", "args": {"file": "$1"}},
            ],
        }
    )
    before = set(inet_sockets_open())
    log = watch()
    outcome = "ok"
    with tempfile.TemporaryDirectory(prefix="earshot-selftest-") as tmp:
        home = Path(tmp)
        test_config = EarshotConfig(paths=PathOptions(home_dir=home, models_dir=config.paths.models_dir))
        test_config.models = config.models
        store = SessionStore(test_config.paths.database_path)
        try:
            session = store.create_session(home / "workspace")
            failures: list[str] = []

            def emit(event) -> None:
                error = getattr(event, "error", None)
                if error:
                    failures.append(str(error))

            assistant = Assistant(test_config, session, registry=registry, emit=emit)
            reply = asyncio.run(assistant.ask("doctor: offline self-test", None, plan))
            status = next(t["status"] for t in session.turns() if t["id"] == reply.turn_id)
            if status != "ok":
                outcome = f"the self-test turn {status}: {failures[0] if failures else reply.text}"
        except Exception as exc:  # a missing model, say: the check could not be made, and says why
            outcome = f"the self-test turn could not run: {exc}"
        finally:
            store.close()
            stop()
    held = [s for s in inet_sockets_open() if s not in before]
    return {
        "turn": outcome,
        "inet": log.inet,
        "lookups": log.lookups,
        "unix_sockets": log.unix,
        "inet_sockets_held": held,
    }


def doctor_check(early: NetworkLog | None, config) -> dict:
    """The doctor's line: `early` is what the hook saw during the doctor's own imports and checks."""
    result = self_test(config)
    seen_early = (early.inet + early.lookups) if early is not None else []
    offences = result["inet"] + result["lookups"] + result["inet_sockets_held"] + seen_early
    ran = result["turn"] == "ok"
    if offences:
        detail = "network use seen: " + "; ".join(offences[:4])
        fix = "report this: Earshot must not use the network (set ORT_DISABLE_TELEMETRY=1 and HF_HUB_OFFLINE=1)"
    elif ran:
        detail = (
            "a self-test turn (speak → transcribe: ONNX Runtime, faster-whisper) and these checks connected, "
            f"bound or held no internet socket ({result['unix_sockets']} Unix-socket calls)"
        )
        fix = ""
    else:
        detail = result["turn"]
        fix = "earshot models install"
    return {"name": "network", "ok": ran and not offences, "detail": detail, "fix": fix, "network": result}
