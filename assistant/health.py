"""What a crash could have left behind, checked: the session database, each project against its
operation log, every registered artifact against its sha256, the files in the workspaces, the model store.

`earshot doctor` shows these; `earshot bench crash` runs them after every process it killed. The checks
only read (a fresh connection; no table is created), so they can run beside a live session.
"""

from __future__ import annotations

import json
import sqlite3
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .project.patch import apply, same
from .store.hashing import sha256_of


@dataclass
class StoreReport:
    """The session database after whatever happened to the processes that wrote it."""

    integrity: str = "ok"  # PRAGMA integrity_check
    sessions: int = 0
    turns: int = 0
    turns_cut_off: int = 0  # still "running": their process died mid-turn (or is running now)
    projects: int = 0
    project_problems: list[str] = field(default_factory=list)  # head ≠ log, or the log does not replay
    artifacts: int = 0
    artifacts_checked: int = 0  # hashed (the newest ones when limited)
    artifact_problems: list[str] = field(default_factory=list)  # missing, changed, unreadable
    debris: list[str] = field(default_factory=list)  # empty or unreadable files under a real name, unregistered
    partials: list[str] = field(default_factory=list)  # `.partial-*` scratch files of writes that never finished

    @property
    def ok(self) -> bool:
        return self.integrity == "ok" and not (self.project_problems or self.artifact_problems or self.debris)


def check_store(
    database: Path, *, hash_limit: int | None = None, verified: dict[str, tuple[int, int]] | None = None
) -> StoreReport:
    """Check everything in the session database at `database`.

    `hash_limit`: hash only the newest N artifacts (doctor keeps to a few seconds); the rest are only
    checked to exist. `verified`: path → (size, mtime_ns) of artifacts already hashed and found intact,
    skipped while their stat is unchanged (outputs are never rewritten in place), and updated."""
    report = StoreReport()
    if not Path(database).is_file():
        return report
    db = sqlite3.connect(database, timeout=30)  # read only by use (read-only mode cannot recover a WAL)
    db.row_factory = sqlite3.Row
    try:
        report.integrity = "; ".join(r[0] for r in db.execute("PRAGMA integrity_check").fetchall()[:3])
        report.sessions = db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
        report.turns = db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
        report.turns_cut_off = db.execute("SELECT COUNT(*) FROM turns WHERE status='running'").fetchone()[0]
        _check_projects(db, report)
        _check_artifacts(db, report, hash_limit, verified)
        for (workspace,) in db.execute("SELECT DISTINCT workspace FROM sessions"):
            _check_workspace(db, Path(workspace), report)
    finally:
        db.close()
    return report


def _check_projects(db: sqlite3.Connection, report: StoreReport) -> None:
    if db.execute("SELECT 1 FROM sqlite_master WHERE name='project_heads'").fetchone() is None:
        return
    for sid, seq, state in db.execute("SELECT session_id, seq, state FROM project_heads").fetchall():
        report.projects += 1
        last = db.execute("SELECT MAX(seq) FROM project_ops WHERE session_id=?", (sid,)).fetchone()[0]
        if last != seq:
            report.project_problems.append(f"session {sid}: the project head is at #{seq}, its log at #{last}")
            continue
        replayed: dict = {}
        try:
            for (patch,) in db.execute("SELECT patch FROM project_ops WHERE session_id=? ORDER BY seq", (sid,)):
                apply(replayed, json.loads(patch))
        except Exception as exc:  # a log that does not replay is exactly what this looks for
            report.project_problems.append(f"session {sid}: the project log does not replay ({exc})")
            continue
        if not same(replayed, json.loads(state)):
            report.project_problems.append(f"session {sid}: the project differs from what its log says")


def _check_artifacts(
    db: sqlite3.Connection, report: StoreReport, hash_limit: int | None, verified: dict | None
) -> None:
    rows = db.execute("SELECT * FROM artifacts ORDER BY created_at DESC").fetchall()
    report.artifacts = len(rows)
    for i, row in enumerate(rows):
        path = Path(row["path"])
        where = f"@a{row['num']} {row['name']} ({row['session_id']})"
        if not path.is_file():
            if row["kind"] != "input":  # a user's own file may have been moved away: not ours to keep
                report.artifact_problems.append(f"{where}: the file is gone ({path})")
            continue
        if hash_limit is not None and i >= hash_limit:
            continue
        st = path.stat()
        stamp = (st.st_size, st.st_mtime_ns)
        if verified is not None and verified.get(str(path)) == stamp:
            continue
        report.artifacts_checked += 1
        if row["kind"] != "input" and sha256_of(path) != row["sha256"]:
            report.artifact_problems.append(f"{where}: its content changed (sha256 differs)")
            continue
        problem = _unreadable(path, row)
        if problem:
            report.artifact_problems.append(f"{where}: {problem}")
        elif verified is not None:
            verified[str(path)] = stamp


def _unreadable(path: Path, row) -> str | None:
    """Why a complete-looking file would not open as what it claims to be (None: it opens)."""
    kind = row["kind"] if row is not None else None
    suffix = path.suffix.lower()
    try:
        if path.stat().st_size == 0:
            return "empty file"
        if kind in ("audio", "input") or (kind is None and suffix in (".wav", ".flac", ".ogg", ".mp3")):
            import soundfile as sf

            info = sf.info(str(path))
            if info.frames <= 0:
                return "no audio frames"
            if row is not None and row["duration_s"] is not None and kind == "audio":
                if abs(info.frames / info.samplerate - row["duration_s"]) > 1.5 / info.samplerate:
                    return f"{info.frames / info.samplerate:.3f} s of audio, {row['duration_s']:.3f} s recorded"
        elif suffix == ".dawproject":
            with zipfile.ZipFile(path) as z:
                if z.testzip() is not None or "project.xml" not in z.namelist():
                    return "a damaged .dawproject"
        elif suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    except Exception as exc:
        return f"does not open ({type(exc).__name__}: {str(exc)[:80]})"
    return None


def _check_workspace(db: sqlite3.Connection, workspace: Path, report: StoreReport) -> None:
    if not workspace.is_dir():
        return
    known = {r[0] for r in db.execute("SELECT path FROM artifacts")}
    for p in sorted(workspace.iterdir()):
        if not p.is_file():
            continue
        if p.name.startswith(".partial-"):
            report.partials.append(str(p))
        elif not p.name.startswith(".") and str(p.resolve()) not in known:
            # An unregistered file: the user's own, or an output whose process died before recording it
            # (complete: it was renamed into place whole). Only an empty or unreadable one is debris.
            problem = _unreadable(p, None)
            if problem:
                report.debris.append(f"{p}: {problem}")
