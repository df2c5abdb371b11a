"""Evaluated prompt prefixes (llama.cpp KV states) kept on disk, so a new process starts where the last
one stopped instead of evaluating its prompt again.

Two kinds of state live here, one file each:

- **prefix**: the static part of the planner's prompt (rules, tool list, examples, ~3,700 tokens),
  evaluated once per model and prompt version: ~40 s on two cores, restored in a fraction of a second;
- **session**: a session's whole context up to "Request:" (files, project, recent turns), saved by a
  one-shot `earshot ask` after its turn, so the next `ask` in that session evaluates only its own request.
  One state per session (a newer one replaces it), and only the `keep_sessions` most recently used
  sessions: each file is ~28 KB a token with the 1.5B model (~120 MB).

A file holds a header line (JSON: identity, kind, owner, token count, payload size and CRC-32), the exact
prompt tokens the state was evaluated on, and the sequence's KV state as llama.cpp serialises it
(`llama_state_seq_get_data`). A state is used only for the longest common prefix of its tokens with the
prompt at hand, and only when the identity (weights, llama.cpp build, context size) matches; a file whose
checksum, size or format is wrong is deleted and the prompt is evaluated instead. Writes go to a temporary
name and are renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CorruptState", "KvStateStore", "StoredState"]

MAGIC = b"EARSHOT-KV 1\n"
_MAX_HEADER = 4096
SUFFIX = ".kv"
KEEP_PREFIXES = 3  # prompt versions (tool lists) kept per model: an update changes it, a rollback may return


class CorruptState(Exception):
    """A state file that cannot be trusted (truncated, checksum mismatch, another format)."""


@dataclass(frozen=True)
class StoredState:
    path: Path
    kind: str  # "prefix" or "session"
    owner: str  # the session id of a session state, "" for a prefix
    tokens: np.ndarray  # int32: the prompt tokens the state holds
    payload_bytes: int
    crc32: int
    offset: int  # where the payload starts in the file

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)


def tokens_digest(tokens) -> str:
    return hashlib.sha256(np.asarray(tokens, dtype="<i4").tobytes()).hexdigest()


def common_length(stored: np.ndarray, tokens: np.ndarray) -> int:
    """Length of the common prefix of two token arrays (vectorised: prompts are thousands of tokens)."""
    n = min(len(stored), len(tokens))
    if n == 0:
        return 0
    diff = np.flatnonzero(stored[:n] != tokens[:n])
    return int(diff[0]) if len(diff) else n


class KvStateStore:
    """The state files of one model identity in one folder; the caller (runtime/llm.py) holds the model's
    lock around every call, and writes are atomic, so two processes may share the folder."""

    def __init__(self, directory: Path, identity: str, keep_sessions: int = 4) -> None:
        self.directory = Path(directory)
        self.identity = identity
        self.keep_sessions = keep_sessions
        self._tag = hashlib.sha256(identity.encode()).hexdigest()[:16]

    # -- reading ----------------------------------------------------------------------------------
    def states(self) -> list[StoredState]:
        """This identity's readable state files (headers and tokens only; the payloads stay on disk)."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in self.directory.glob(f"{self._tag}-*{SUFFIX}"):
            try:
                found.append(self._header(path))
            except (OSError, CorruptState, ValueError):
                with contextlib.suppress(OSError):
                    path.unlink()  # unreadable: it would never be used, only take room
        return found

    def best(self, tokens) -> tuple[StoredState, int] | None:
        """The state sharing the longest prefix with `tokens`; among equals, the most recently used one
        (a one-shot process restores at start-up, before it knows its request: the session it continues
        is most likely the one that saved last)."""
        tokens = np.asarray(tokens, dtype=np.int32)
        best: tuple[StoredState, int] | None = None
        best_key = (0, 0.0)
        for state in self.states():
            common = common_length(state.tokens, tokens)
            if common == 0:
                continue
            try:
                used = state.path.stat().st_mtime
            except OSError:
                continue
            key = (common, used)
            if key > best_key:
                best, best_key = (state, common), key
        return best

    def read(self, state: StoredState) -> tuple[bytearray, int]:
        """The payload, checked against its size and CRC-32: (buffer, offset of the payload in it).
        Raises CorruptState (the file is deleted) when it does not match."""
        try:
            with open(state.path, "rb") as fh:
                size, expected = os.fstat(fh.fileno()).st_size, state.offset + state.payload_bytes
                if size != expected:
                    raise CorruptState(f"{state.path.name}: {size} bytes, the header says {expected}")
                buf = bytearray(size)
                if fh.readinto(buf) != size:
                    raise CorruptState(f"{state.path.name}: short read")
        except OSError as exc:
            raise CorruptState(f"{state.path.name}: {exc}") from exc
        view = memoryview(buf)[state.offset :]
        try:
            if zlib.crc32(view) != state.crc32:
                raise CorruptState(f"{state.path.name}: checksum mismatch")
        finally:
            view.release()
        self.touch(state)
        return buf, state.offset

    def touch(self, state: StoredState) -> None:
        """Mark as used now (what `best` and the session cap go by)."""
        with contextlib.suppress(OSError):
            os.utime(state.path)

    def discard(self, state: StoredState) -> None:
        with contextlib.suppress(OSError):
            state.path.unlink()

    # -- writing ----------------------------------------------------------------------------------
    def write(self, tokens, payload, kind: str, owner: str = "") -> Path:
        """Save a state evaluated on exactly `tokens`; `payload` is a buffer (llama.cpp's serialised
        sequence). A session's earlier state is replaced, and only the `keep_sessions` most recently used
        sessions keep theirs."""
        if kind not in ("prefix", "session"):
            raise ValueError(f"unknown state kind {kind!r}")
        tokens = np.asarray(tokens, dtype="<i4")
        view = memoryview(payload).cast("B")
        header = {
            "identity": self.identity,
            "kind": kind,
            "owner": owner,
            "n_tokens": int(len(tokens)),
            "payload_bytes": int(view.nbytes),
            "crc32": zlib.crc32(view),
            "created": time.time(),
        }
        line = json.dumps(header, sort_keys=True).encode() + b"\n"
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{self._tag}-{kind}-{tokens_digest(tokens)[:24]}{SUFFIX}"
        tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        try:
            with open(tmp, "wb") as fh:
                fh.write(MAGIC)
                fh.write(line)
                fh.write(tokens.tobytes())
                fh.write(view)
            tmp.replace(path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        finally:
            view.release()
        self._prune(kind, owner, path)
        return path

    def _prune(self, kind: str, owner: str, newest: Path) -> None:
        """A session keeps one state (the newest); at most `keep_sessions` sessions and KEEP_PREFIXES
        prompt versions keep theirs, the most recently used ones. Leftovers of a writer that died go too."""
        states = [s for s in self.states() if s.kind == kind and s.path != newest]
        if kind == "session":
            for state in [s for s in states if s.owner == owner]:
                self.discard(state)
            states = [s for s in states if s.owner != owner]
        keep = (self.keep_sessions if kind == "session" else KEEP_PREFIXES) - 1
        for _, state in sorted(((_mtime(s.path), s) for s in states), key=lambda item: item[0], reverse=True)[
            max(0, keep) :
        ]:
            self.discard(state)
        for partial in self.directory.glob(f".{self._tag}-*.partial"):
            if time.time() - _mtime(partial) > 3600:
                with contextlib.suppress(OSError):
                    partial.unlink()

    # -- the file format --------------------------------------------------------------------------
    def _header(self, path: Path) -> StoredState:
        with open(path, "rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC:
                raise CorruptState(f"{path.name}: not an Earshot KV state")
            line = fh.readline(_MAX_HEADER)
            if not line.endswith(b"\n"):
                raise CorruptState(f"{path.name}: no header")
            header = json.loads(line)
            if header.get("identity") != self.identity:
                raise CorruptState(f"{path.name}: another model or llama.cpp build")
            n = int(header["n_tokens"])
            raw = fh.read(4 * n)
            if len(raw) != 4 * n:
                raise CorruptState(f"{path.name}: truncated")
            tokens = np.frombuffer(raw, dtype="<i4").astype(np.int32)
            offset = len(MAGIC) + len(line) + 4 * n
        return StoredState(
            path,
            str(header["kind"]),
            str(header.get("owner", "")),
            tokens,
            int(header["payload_bytes"]),
            int(header["crc32"]),
            offset,
        )


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
