"""The session store: every turn, plan, tool run and artifact, in SQLite (WAL), plus workspace paths.

One database holds all sessions (`$EARSHOT_HOME/earshot.db`); each session has a workspace
directory where its outputs are written and whose files a request may name. Writes are single
statements or short transactions, so a crash or kill -9 loses at most the step in flight.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import faults
from ..errors import EarshotError, PathRefused, disk_full
from .hashing import sha256_of
from .transactions import connect, immediate_transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id          TEXT PRIMARY KEY,
    created_at  REAL NOT NULL,
    workspace   TEXT NOT NULL,
    title       TEXT
);
CREATE TABLE IF NOT EXISTS turns (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    started_at  REAL NOT NULL,
    source      TEXT NOT NULL,            -- typed | spoken
    user_text   TEXT NOT NULL,
    reply_text  TEXT,
    status      TEXT NOT NULL DEFAULT 'running',  -- running | ok | failed | interrupted
    error       TEXT
);
CREATE TABLE IF NOT EXISTS plans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    turn_id     INTEGER NOT NULL REFERENCES turns(id),
    attempt     INTEGER NOT NULL,
    raw         TEXT NOT NULL,
    valid       INTEGER NOT NULL,
    error       TEXT,
    plan_ms     REAL,
    tokens      INTEGER,
    planner     TEXT NOT NULL DEFAULT 'llm'  -- llm | fast (the command path, llm/commands/)
);
CREATE TABLE IF NOT EXISTS tool_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    turn_id     INTEGER NOT NULL REFERENCES turns(id),
    step        INTEGER NOT NULL,
    tool        TEXT NOT NULL,
    args        TEXT NOT NULL,
    status      TEXT NOT NULL,            -- running | ok | failed | timeout | cancelled
    started_at  REAL NOT NULL,
    duration_s  REAL,
    summary     TEXT,
    error       TEXT
);
CREATE TABLE IF NOT EXISTS artifacts (
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    num         INTEGER NOT NULL,         -- the 3 in @a3
    path        TEXT NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,            -- audio | text | midi | json | input
    sha256      TEXT NOT NULL,
    duration_s  REAL,
    sample_rate_hz INTEGER,
    channels    INTEGER,
    tool_run_id INTEGER REFERENCES tool_runs(id),
    tool        TEXT,
    parents     TEXT NOT NULL DEFAULT '[]',
    meta        TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL,
    PRIMARY KEY (session_id, num)
);
"""


def _migrate(db: sqlite3.Connection) -> None:
    """Columns added after a database was created (CREATE TABLE IF NOT EXISTS keeps an old table as it was)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(plans)")}
    if "planner" not in columns:  # issue 15: which planner made each plan attempt
        try:
            db.execute("ALTER TABLE plans ADD COLUMN planner TEXT NOT NULL DEFAULT 'llm'")
        except sqlite3.OperationalError as exc:  # another process added it a moment ago
            if "duplicate column" not in str(exc):
                raise


@dataclass(frozen=True)
class Artifact:
    """A file the session knows: produced by a tool, or a user file the session has used."""

    session_id: str
    num: int
    path: Path
    name: str
    kind: str
    sha256: str
    duration_s: float | None
    sample_rate_hz: int | None
    channels: int | None
    tool: str | None
    parents: tuple[str, ...]
    meta: dict[str, Any]
    created_at: float

    @property
    def id(self) -> str:
        return f"a{self.num}"

    @property
    def ref(self) -> str:
        return f"@a{self.num}"

    def describe(self) -> str:
        """One line for the planner's artifact table and the CLI."""
        bits = [f"{self.ref} {self.name}", self.kind]
        if self.duration_s is not None:
            bits.append(f"{self.duration_s:.1f} s")
        if self.sample_rate_hz:
            bits.append(f"{self.sample_rate_hz} Hz")
        if self.tool:
            src = f"from {self.tool}"
            if self.parents:
                src += " of " + ", ".join(self.parents)
            bits.append(src)
        else:
            bits.append("user file")
        return ", ".join(bits)


def new_session_id() -> str:
    # Sortable by time, short enough to type: 20261124-2215-3f9a
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class SessionStore:
    """All sessions in one SQLite database. Open one per thread (connections are not shared)."""

    def __init__(self, database_path: Path) -> None:
        self.path = Path(database_path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = connect(self.path)
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
            _migrate(self.db)
        except sqlite3.DatabaseError as exc:
            # SQLite cannot even make its shared-memory file on a full disk ("disk I/O error"): say so, and do
            # not suggest moving the database aside when there is nothing wrong with it.
            if disk_full(self.path.parent, 1 << 20, exc) is not None:
                raise EarshotError(
                    f"the session database {self.path} cannot be opened: its disk is full",
                    "free some space on that disk (or set EARSHOT_HOME to a folder on another disk)",
                ) from exc
            raise EarshotError(
                f"the session database {self.path} cannot be opened: {exc}",
                "move it aside and start again; set EARSHOT_HOME to use another folder",
            ) from exc

    def close(self) -> None:
        self.db.close()

    # -- sessions ---------------------------------------------------------------------------
    def create_session(
        self, workspace: Path | None = None, title: str | None = None, sessions_dir: Path | None = None
    ) -> Session:
        """A new session. Without a workspace it gets its own folder, named like the session."""
        sid = new_session_id()
        while self.db.execute("SELECT 1 FROM sessions WHERE id=?", (sid,)).fetchone():
            sid = new_session_id()
        if workspace is None:
            workspace = (sessions_dir or self.path.parent / "sessions") / sid
        workspace = Path(workspace).expanduser().resolve()
        workspace.mkdir(parents=True, exist_ok=True)
        self.db.execute(
            "INSERT INTO sessions(id, created_at, workspace, title) VALUES (?,?,?,?)",
            (sid, time.time(), str(workspace), title),
        )
        return Session(self, sid, workspace)

    def open_session(self, session_id: str) -> Session:
        row = self.db.execute("SELECT * FROM sessions WHERE id=?", (session_id,)).fetchone()
        if row is None:
            row = self.db.execute(
                "SELECT * FROM sessions WHERE id LIKE ? ORDER BY created_at DESC", (f"%{session_id}%",)
            ).fetchone()
        if row is None:
            raise EarshotError(f"no session {session_id!r}", "`earshot history --list` shows the sessions")
        workspace = Path(row["workspace"])
        workspace.mkdir(parents=True, exist_ok=True)
        return Session(self, row["id"], workspace)

    def latest_session(self, workspace: Path | None = None) -> Session | None:
        if workspace is None:
            row = self.db.execute("SELECT id FROM sessions ORDER BY created_at DESC, rowid DESC").fetchone()
        else:
            row = self.db.execute(
                "SELECT id FROM sessions WHERE workspace=? ORDER BY created_at DESC, rowid DESC",
                (str(Path(workspace).expanduser().resolve()),),
            ).fetchone()
        return self.open_session(row["id"]) if row else None

    def list_sessions(self) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT s.*, (SELECT COUNT(*) FROM turns t WHERE t.session_id=s.id) AS turns, "
            "(SELECT COUNT(*) FROM artifacts a WHERE a.session_id=s.id) AS artifacts "
            "FROM sessions s ORDER BY created_at DESC"
        ).fetchall()


class Session:
    """One conversation: its turns, tool runs and artifacts, and the workspace they live in."""

    def __init__(self, store: SessionStore, session_id: str, workspace: Path) -> None:
        self.store = store
        self.db = store.db
        self.id = session_id
        self.workspace = workspace

    # -- turns and plans --------------------------------------------------------------------
    def begin_turn(self, text: str, source: str = "typed") -> int:
        cur = self.db.execute(
            "INSERT INTO turns(session_id, started_at, source, user_text) VALUES (?,?,?,?)",
            (self.id, time.time(), source, text),
        )
        faults.point("turn_begin")
        return int(cur.lastrowid)

    def end_turn(self, turn_id: int, status: str, reply: str | None = None, error: str | None = None) -> None:
        self.db.execute("UPDATE turns SET status=?, reply_text=?, error=? WHERE id=?", (status, reply, error, turn_id))
        faults.point("turn_end")

    def record_plan(
        self,
        turn_id: int,
        attempt: int,
        raw: str,
        valid: bool,
        error: str | None,
        plan_ms: float,
        tokens: int,
        planner: str = "llm",
    ) -> None:
        self.db.execute(
            "INSERT INTO plans(turn_id, attempt, raw, valid, error, plan_ms, tokens, planner) VALUES (?,?,?,?,?,?,?,?)",
            (turn_id, attempt, raw, int(valid), error, plan_ms, tokens, planner),
        )

    def recent_turns(self, limit: int) -> list[sqlite3.Row]:
        rows = self.db.execute(
            "SELECT * FROM turns WHERE session_id=? AND status != 'running' ORDER BY id DESC LIMIT ?", (self.id, limit)
        ).fetchall()
        return rows[::-1]

    def finished_turn_count(self) -> int:
        return int(
            self.db.execute(
                "SELECT COUNT(*) FROM turns WHERE session_id=? AND status != 'running'", (self.id,)
            ).fetchone()[0]
        )

    def turns(self) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM turns WHERE session_id=? ORDER BY id", (self.id,)).fetchall()

    def tool_runs(self, turn_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM tool_runs WHERE turn_id=? ORDER BY id", (turn_id,)).fetchall()

    def plans(self, turn_id: int) -> list[sqlite3.Row]:
        return self.db.execute("SELECT * FROM plans WHERE turn_id=? ORDER BY attempt", (turn_id,)).fetchall()

    # -- tool runs --------------------------------------------------------------------------
    def begin_tool_run(self, turn_id: int, step: int, tool: str, args: dict) -> int:
        cur = self.db.execute(
            "INSERT INTO tool_runs(turn_id, step, tool, args, status, started_at) VALUES (?,?,?,?,?,?)",
            (turn_id, step, tool, json.dumps(args, default=str), "running", time.time()),
        )
        return int(cur.lastrowid)

    def end_tool_run(
        self, run_id: int, status: str, duration_s: float, summary: str | None = None, error: str | None = None
    ) -> None:
        self.db.execute(
            "UPDATE tool_runs SET status=?, duration_s=?, summary=?, error=? WHERE id=?",
            (status, duration_s, summary, error, run_id),
        )

    # -- artifacts --------------------------------------------------------------------------
    def add_artifact(
        self,
        path: Path,
        kind: str,
        *,
        tool: str | None = None,
        tool_run_id: int | None = None,
        parents: tuple[str, ...] = (),
        duration_s: float | None = None,
        sample_rate_hz: int | None = None,
        channels: int | None = None,
        meta: dict | None = None,
        name: str | None = None,
    ) -> Artifact:
        """Record a finished file. The number is taken inside the insert's transaction, so two writers
        can never hand out the same @aN."""
        path = Path(path).resolve()
        digest = sha256_of(path)
        now = time.time()
        with self._transaction():
            num = self.db.execute(
                "SELECT COALESCE(MAX(num), 0) + 1 FROM artifacts WHERE session_id=?", (self.id,)
            ).fetchone()[0]
            self.db.execute(
                "INSERT INTO artifacts(session_id, num, path, name, kind, sha256, duration_s, sample_rate_hz,"
                " channels, tool_run_id, tool, parents, meta, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    self.id,
                    num,
                    str(path),
                    name or path.name,
                    kind,
                    digest,
                    duration_s,
                    sample_rate_hz,
                    channels,
                    tool_run_id,
                    tool,
                    json.dumps(list(parents)),
                    json.dumps(meta or {}),
                    now,
                ),
            )
            faults.point("artifact_register")
        return self.artifact(num)

    def _transaction(self):
        return immediate_transaction(self.db)

    def _row_to_artifact(self, row: sqlite3.Row) -> Artifact:
        return Artifact(
            session_id=row["session_id"],
            num=row["num"],
            path=Path(row["path"]),
            name=row["name"],
            kind=row["kind"],
            sha256=row["sha256"],
            duration_s=row["duration_s"],
            sample_rate_hz=row["sample_rate_hz"],
            channels=row["channels"],
            tool=row["tool"],
            parents=tuple(json.loads(row["parents"])),
            meta=json.loads(row["meta"]),
            created_at=row["created_at"],
        )

    def artifact(self, num: int) -> Artifact:
        row = self.db.execute("SELECT * FROM artifacts WHERE session_id=? AND num=?", (self.id, num)).fetchone()
        if row is None:
            raise EarshotError(
                f"there is no artifact @a{num} in this session", "`earshot history` lists the session's artifacts"
            )
        return self._row_to_artifact(row)

    def artifacts(self) -> list[Artifact]:
        rows = self.db.execute("SELECT * FROM artifacts WHERE session_id=? ORDER BY num", (self.id,)).fetchall()
        return [self._row_to_artifact(r) for r in rows]

    def rename_artifact(self, num: int, name: str) -> None:
        """Change the name shown for an artifact; the file on disk and its provenance stay as they are."""
        self.db.execute("UPDATE artifacts SET name=? WHERE session_id=? AND num=?", (name, self.id, num))

    def last_artifact(self, kind: str | None = None) -> Artifact | None:
        sql = "SELECT * FROM artifacts WHERE session_id=?"
        params: list[Any] = [self.id]
        if kind:
            sql += " AND kind=?"
            params.append(kind)
        row = self.db.execute(sql + " ORDER BY num DESC LIMIT 1", params).fetchone()
        return self._row_to_artifact(row) if row else None

    def find_artifact_by_path(self, path: Path) -> Artifact | None:
        row = self.db.execute(
            "SELECT * FROM artifacts WHERE session_id=? AND path=? ORDER BY num DESC LIMIT 1",
            (self.id, str(Path(path).resolve())),
        ).fetchone()
        return self._row_to_artifact(row) if row else None

    # -- workspace paths --------------------------------------------------------------------
    def resolve_user_path(self, name: str, allowed_roots: tuple[Path, ...] = ()) -> Path:
        """A file the user named, resolved inside the workspace or an allowed root, or refused.

        Symlinks are resolved before the check, so a link inside the workspace pointing outside
        it is refused too."""
        raw = Path(name).expanduser()
        candidate = (raw if raw.is_absolute() else self.workspace / raw).resolve()
        roots = (self.workspace.resolve(), *allowed_roots)
        if not any(candidate == root or candidate.is_relative_to(root) for root in roots):
            raise PathRefused(
                f"{name!r} is outside the workspace {self.workspace}",
                "copy the file into the workspace, or add its folder to allowed_roots in config.toml",
            )
        if not candidate.exists():
            raise EarshotError(
                f"no file {name!r} in the workspace {self.workspace}",
                "check the name; `earshot history` lists the session's artifacts",
            )
        if not candidate.is_file():
            raise EarshotError(f"{name!r} is not a file", "name an audio file inside the workspace")
        return candidate

    def new_output_path(self, stem: str, suffix: str) -> Path:
        """A fresh path in the workspace: never an existing file (O_EXCL claims the name)."""
        for candidate in _candidates(self.workspace, stem, suffix):
            try:
                fd = os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                continue
            os.close(fd)
            return candidate
        raise EarshotError(f"cannot find a free file name for {stem}{suffix}", "clean up the workspace")

    def scratch_path(self, suffix: str) -> Path:
        """A temporary file in the workspace to write an output into before `publish` names it. Its name
        starts with ".partial-": the planner never lists it, and a crash leaves only that behind."""
        fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=suffix, dir=self.workspace)
        os.close(fd)
        return Path(tmp)

    def remove_stale_scratch(self, older_than_s: float = 3600.0) -> int:
        """Delete scratch files that writes killed half-way left behind. A write in progress touches its
        file all the time, so one untouched for an hour belongs to a process that is gone."""
        cutoff = time.time() - older_than_s
        removed = 0
        for p in self.workspace.glob(".partial-*"):
            try:
                if p.is_file() and p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
            except OSError:
                pass  # another process removed it first
        return removed

    def publish(self, scratch: Path, stem: str, suffix: str) -> Path:
        """Give a finished scratch file a fresh name in the workspace, atomically: the file appears there
        complete or not at all (a kill at any moment leaves no empty or half-written output under a real
        name), and it never replaces an existing file (a hard link claims the name, failing if it is taken)."""
        for candidate in _candidates(self.workspace, stem, suffix):
            try:
                os.link(scratch, candidate)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
                    raise
                # A filesystem without hard links (FAT, some network shares): claim the name, then rename
                # over the claim. A kill between the two leaves an empty file under that name.
                candidate = self.new_output_path(stem, suffix)
                os.replace(scratch, candidate)
                return candidate
            faults.point("artifact_publish")
            scratch.unlink(missing_ok=True)
            return candidate
        raise EarshotError(f"cannot find a free file name for {stem}{suffix}", "clean up the workspace")

    def iter_history(self) -> Iterator[tuple[sqlite3.Row, list[sqlite3.Row], list[sqlite3.Row]]]:
        for turn in self.turns():
            yield turn, self.plans(turn["id"]), self.tool_runs(turn["id"])


def _candidates(workspace: Path, stem: str, suffix: str) -> Iterator[Path]:
    """memo-denoised.wav, memo-denoised-2.wav, … (the stem made safe for any filesystem)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem).strip("-.") or "output"
    for n in range(1, 10_000):
        yield workspace / (f"{safe}{suffix}" if n == 1 else f"{safe}-{n}{suffix}")
