"""The project's memory: an append-only log of changes in the session database, and undo/redo on it.

Design (event-sourced log + a cached head):

* Every change is one row of `project_ops`: its number (#seq), the group it belongs to (the changes
  one request made together), its kind (do | undo | redo | revert | init), the operation and its
  arguments as asked, a label in words, and the *exact patch* it applied (patch.py: each entry holds
  the value before and after, so it is invertible and checkable).
* The state is the fold of all patches in order, starting from nothing (row #1, kind init, creates
  the empty project). `project_heads` caches that fold and the #seq it reached; it is written in the
  same transaction as the row, so it can never disagree with the log (and if it ever did, the log
  wins: `Project` replays it).
* Undo and redo are themselves rows. Undo of group g appends the inverse of g's patches; redo
  appends g's patches again; the undo/redo stacks are derived from the rows, so they survive a
  restart. A new change after an undo clears the redo stack, as in any editor, but nothing is ever
  deleted: every change ever made stays in the log with its patch.
* `revert(#n)` undoes one change from further back (say, one of the five things "more relaxed"
  did) when nothing later touched the same values; it is a new row, so it can be undone too.

Each request's changes commit in one short SQLite transaction (WAL), so a kill -9 at any moment —
in the middle of a render, say — loses nothing that was reported as done.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from .. import faults
from ..errors import EarshotError
from ..store.session import Session
from . import model
from .patch import PatchConflict, apply, conflicts, diff, invert

# Applied by this module on the session's own connection: the project's tables live beside the
# session's, but session.py does not need to know about them.
PROJECT_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS project_ops (
    session_id  TEXT NOT NULL REFERENCES sessions(id),
    seq         INTEGER NOT NULL,          -- change number #seq, per session
    grp         INTEGER NOT NULL,          -- the changes one request made together
    kind        TEXT NOT NULL,             -- init | do | undo | redo | revert
    target      INTEGER,                   -- undo/redo: the group; revert: the change #seq
    label       TEXT NOT NULL,             -- what changed, in words
    op          TEXT NOT NULL,             -- the operation and its arguments (JSON)
    patch       TEXT NOT NULL,             -- the exact change to the state (JSON, see patch.py)
    tool_run_id INTEGER,
    created_at  REAL NOT NULL,
    PRIMARY KEY (session_id, seq)
)""",
    """CREATE TABLE IF NOT EXISTS project_heads (
    session_id  TEXT PRIMARY KEY REFERENCES sessions(id),
    seq         INTEGER NOT NULL,          -- the last change folded into state
    state       TEXT NOT NULL              -- cache of replaying the log up to seq
)""",
)


def ensure_schema(db: sqlite3.Connection) -> None:
    for statement in PROJECT_SCHEMA:
        db.execute(statement)  # execute, not executescript: that would commit someone's transaction


@dataclass(frozen=True)
class Change:
    seq: int
    label: str
    ref: str | None = None
    kind: str = "do"


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


class Project:
    """The studio project of one session."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.db = session.db
        ensure_schema(self.db)

    # -- reading --------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self._head() is not None

    def state(self) -> dict:
        head = self._head()
        return json.loads(head[1]) if head else model.new_state()

    def log(self, limit: int | None = None) -> list[sqlite3.Row]:
        sql = "SELECT * FROM project_ops WHERE session_id=? ORDER BY seq DESC"
        rows = self.db.execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (self.session.id,)).fetchall()
        return rows[::-1]

    def replay(self, upto: int | None = None) -> dict:
        """The state rebuilt from the log alone (what the head caches)."""
        state: dict = {}
        for row in self.db.execute(
            "SELECT patch FROM project_ops WHERE session_id=? AND seq<=? ORDER BY seq",
            (self.session.id, upto if upto is not None else 2**62),
        ):
            apply(state, json.loads(row[0]))
        return state

    def stacks(self) -> tuple[list[int], list[int]]:
        """(undo stack, redo stack) of group numbers, derived from the log."""
        undo: list[int] = []
        redo: list[int] = []
        seen: set[int] = set()
        for grp, kind, target in self.db.execute(
            "SELECT grp, kind, target FROM project_ops WHERE session_id=? ORDER BY seq", (self.session.id,)
        ):
            if grp in seen:
                continue
            seen.add(grp)
            if kind in ("do", "revert"):
                undo.append(grp)
                redo.clear()
            elif kind == "undo" and undo and undo[-1] == target:
                redo.append(undo.pop())
            elif kind == "redo" and redo and redo[-1] == target:
                undo.append(redo.pop())
        return undo, redo

    def group_labels(self, grp: int) -> list[str]:
        return [
            r[0]
            for r in self.db.execute(
                "SELECT label FROM project_ops WHERE session_id=? AND grp=? ORDER BY seq", (self.session.id, grp)
            )
        ]

    def recent_ref(self, prefix: str) -> str | None:
        """The id (t…, c…, e…) the latest change touched that starts with `prefix` and still exists."""
        state = self.state()
        pool = {"t": state["tracks"], "c": state["clips"]}.get(prefix, {})
        for (op,) in self.db.execute(
            "SELECT op FROM project_ops WHERE session_id=? AND kind='do' ORDER BY seq DESC LIMIT 50", (self.session.id,)
        ):
            ref = json.loads(op).get("ref")
            if ref and ref.startswith(prefix) and ref in pool:
                return ref
        return None

    def _head(self):
        return self.db.execute("SELECT seq, state FROM project_heads WHERE session_id=?", (self.session.id,)).fetchone()

    # -- writing --------------------------------------------------------------------------------
    def changes(self, tool_run_id: int | None = None) -> Transaction:
        """`with project.changes() as tx: tx.apply("add_track", name="Drums")` — one group, one commit."""
        return Transaction(self, tool_run_id)

    def apply(self, op: str, tool_run_id: int | None = None, **args) -> Change:
        with self.changes(tool_run_id) as tx:
            return tx.apply(op, **args)

    def undo(self, steps: int = 1, tool_run_id: int | None = None) -> list[Change]:
        with self.changes(tool_run_id) as tx:
            return tx.undo(steps)

    def redo(self, steps: int = 1, tool_run_id: int | None = None) -> list[Change]:
        with self.changes(tool_run_id) as tx:
            return tx.redo(steps)

    def revert(self, seq: int, tool_run_id: int | None = None) -> Change:
        with self.changes(tool_run_id) as tx:
            return tx.revert(seq)


class Transaction:
    """Changes made together: one group number, one SQLite transaction, one head update."""

    def __init__(self, project: Project, tool_run_id: int | None) -> None:
        self.project = project
        self.db = project.db
        self.sid = project.session.id
        self.tool_run_id = tool_run_id
        self.done: list[Change] = []

    def __enter__(self) -> Transaction:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            head = self.project._head()
            last = self.db.execute(
                "SELECT MAX(seq), MAX(grp) FROM project_ops WHERE session_id=?", (self.sid,)
            ).fetchone()
            self.seq, self.grp_max = last[0] or 0, last[1] or 0
            if head is None or head[0] != self.seq:
                # No head yet, or (never in normal operation) a head behind the log: the log wins.
                self.state = self.project.replay()
            else:
                self.state = json.loads(head[1])
            self.grp: int | None = None
            if self.seq == 0:
                self._write(
                    "init", None, "new project", {"op": "new_state"}, diff({}, model.new_state()), own_group=True
                )
                self.state = model.new_state()
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.db.execute("ROLLBACK")
            return False
        try:
            self.db.execute(
                "INSERT INTO project_heads(session_id, seq, state) VALUES (?,?,?) "
                "ON CONFLICT(session_id) DO UPDATE SET seq=excluded.seq, state=excluded.state",
                (self.sid, self.seq, dumps(self.state)),
            )
            faults.point("project_commit")
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return False

    # -- the four kinds of change --------------------------------------------------------------
    def apply(self, op: str, **args) -> Change:
        if op not in model.OPS:
            raise EarshotError(f"unknown project operation {op!r}", "")
        after = copy.deepcopy(self.state)
        done = model.OPS[op](after, **args)
        patch = diff(self.state, after)
        if not patch:
            return Change(0, done.label + " (already so; nothing changed)", done.ref, "noop")
        if self.grp is None:
            self.grp = self.grp_max + 1
        logged = {k: v for k, v in args.items() if k != "new"}
        change = self._write("do", None, done.label, {"op": op, "args": logged, "ref": done.ref}, patch)
        self.state = after
        return Change(change.seq, change.label, done.ref, "do")

    def undo(self, steps: int = 1) -> list[Change]:
        out = []
        for _ in range(steps):
            undo_stack, _ = self._stacks()
            if not undo_stack:
                break
            grp = undo_stack[-1]
            rows = self._group(grp)
            patch = [e for r in reversed(rows) for e in invert(json.loads(r["patch"]))]
            labels = "; ".join(r["label"] for r in rows)
            out.append(self._apply_logged("undo", grp, f"undid {_numbers(rows)}: {labels}", patch))
        return out

    def redo(self, steps: int = 1) -> list[Change]:
        out = []
        for _ in range(steps):
            _, redo_stack = self._stacks()
            if not redo_stack:
                break
            grp = redo_stack[-1]
            rows = self._group(grp)
            patch = [e for r in rows for e in json.loads(r["patch"])]
            labels = "; ".join(r["label"] for r in rows)
            out.append(self._apply_logged("redo", grp, f"redid {_numbers(rows)}: {labels}", patch))
        return out

    def revert(self, seq: int) -> Change:
        row = self.db.execute("SELECT * FROM project_ops WHERE session_id=? AND seq=?", (self.sid, seq)).fetchone()
        if row is None or row["kind"] not in ("do", "revert"):
            raise EarshotError(f"there is no change #{seq} to undo", "`describe_project` shows the recent changes")
        # The id counter only moves forward: taking back one "add" must not let a later id be reused.
        patch = [e for e in invert(json.loads(row["patch"])) if e["p"] != ["next_id"]]
        clash = conflicts(self.state, patch)
        if clash:
            later = self._later_touching(seq, clash)
            why = (
                f"{', '.join('#' + str(n) for n in later)} changed the same thing later"
                if later
                else "it is not in effect any more (it was undone)"
            )
            raise EarshotError(
                f"change #{seq} ({row['label']}) cannot be undone on its own: {why}",
                "undo the later changes first, or just undo",
            )
        return self._apply_logged("revert", seq, f"undid #{seq}: {row['label']}", patch)

    # -- internals ------------------------------------------------------------------------------
    def _stacks(self):
        return self.project.stacks()

    def _group(self, grp: int) -> list[sqlite3.Row]:
        return self.db.execute(
            "SELECT * FROM project_ops WHERE session_id=? AND grp=? ORDER BY seq", (self.sid, grp)
        ).fetchall()

    def _later_touching(self, seq: int, paths: list[list]) -> list[int]:
        wanted = {tuple(p) for p in paths}
        hits = []
        for r in self.db.execute(
            "SELECT seq, patch FROM project_ops WHERE session_id=? AND seq>? AND kind IN ('do', 'revert') ORDER BY seq",
            (self.sid, seq),
        ):
            if any(
                tuple(e["p"]) in wanted or any(tuple(e["p"]) == w[: len(e["p"])] for w in wanted)
                for e in json.loads(r[1])
            ):
                hits.append(r[0])
        return hits[-3:]

    def _apply_logged(self, kind: str, target: int, label: str, patch: list) -> Change:
        after = copy.deepcopy(self.state)
        try:
            apply(after, patch)
        except PatchConflict as exc:  # the log and the head disagree: a bug, never papered over
            raise EarshotError(
                f"the project history is inconsistent ({exc})", "this is a bug; the log is intact — please report it"
            ) from exc
        change = self._write(kind, target, label, {"op": kind, "target": target}, patch, own_group=True)
        self.state = after
        return change

    def _write(
        self, kind: str, target: int | None, label: str, op: dict, patch: list, own_group: bool = False
    ) -> Change:
        if own_group:
            grp = self.grp_max + 1
            self.grp_max = grp
        else:
            grp = self.grp
            self.grp_max = max(self.grp_max, grp)
        self.seq += 1
        self.db.execute(
            "INSERT INTO project_ops(session_id, seq, grp, kind, target, label, op, patch, tool_run_id, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (self.sid, self.seq, grp, kind, target, label, dumps(op), dumps(patch), self.tool_run_id, time.time()),
        )
        faults.point("project_op")
        change = Change(self.seq, label, None, kind)
        self.done.append(change)
        return change


def _numbers(rows) -> str:
    nums = [r["seq"] for r in rows]
    return f"#{nums[0]}" if len(nums) == 1 else f"#{nums[0]}–#{nums[-1]}"


def open_project(session: Session) -> Project:
    return Project(session)


@dataclass(frozen=True)
class Snapshot:
    """The project as a reader sees it: its head and its latest changes (newest last)."""

    seq: int
    state: dict
    recent: tuple[str, ...]


def peek(session: Session, recent: int = 3) -> Snapshot | None:
    """Read the project without writing anything (no table is created): for a UI that reads the
    database through its own connection while the pipeline writes. None until there is a project."""
    db = session.db
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='project_heads'").fetchone() is None:
        return None
    head = db.execute("SELECT seq, state FROM project_heads WHERE session_id=?", (session.id,)).fetchone()
    if head is None:
        return None
    rows = db.execute(
        "SELECT seq, label FROM project_ops WHERE session_id=? AND kind!='init' ORDER BY seq DESC LIMIT ?",
        (session.id, int(recent)),
    ).fetchall()
    return Snapshot(head[0], json.loads(head[1]), tuple(f"#{r[0]} {r[1]}" for r in reversed(rows)))
