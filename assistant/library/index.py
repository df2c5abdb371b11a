"""The library index: one SQLite row per file (`$EARSHOT_HOME/library.db`, WAL like the session store).

A row is written in one statement when its file's analysis arrives, keyed by the file's path (an
upsert), so a crash or `kill -9` loses at most the files in flight and a re-run can never make a
second row for a file. Transcripts are indexed by FTS5 (kept in step by triggers); descriptor vectors
are float32 blobs read once per query process and cached.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from ..errors import EarshotError
from ..store.transactions import connect, immediate_transaction

# Bump when the analysis changes what it writes: rows of an older analyser are analysed again.
ANALYSER_VERSION = "2"  # 2: the key from the tonic's third; HPSS without edge spikes; beam-5 transcripts

SCHEMA = """
CREATE TABLE IF NOT EXISTS roots (
    path        TEXT PRIMARY KEY,
    added_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    id              INTEGER PRIMARY KEY,
    path            TEXT NOT NULL UNIQUE,
    root            TEXT NOT NULL,
    folder          TEXT NOT NULL,     -- the parent folder, relative to the root ('' at the root)
    name            TEXT NOT NULL,
    size_bytes      INTEGER NOT NULL,
    mtime_ns        INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    status          TEXT NOT NULL,     -- ok | error
    error           TEXT,
    duration_s      REAL,
    sample_rate_hz  INTEGER,
    channels        INTEGER,
    key             TEXT,              -- "D minor"
    tempo_bpm       REAL,
    integrated_lufs REAL,
    true_peak_dbtp  REAL,
    content         TEXT,              -- speech | music | ambience | silence
    speech_share    REAL,
    music_share     REAL,
    silence_share   REAL,
    has_speech      INTEGER,
    has_music       INTEGER,
    has_clipping    INTEGER,
    clipped_s       REAL,
    tags            TEXT NOT NULL DEFAULT '[]',   -- instrument and class tags (JSON list)
    transcript      TEXT NOT NULL DEFAULT '',
    vector          BLOB,              -- descriptor vector, float32 (descriptors.py)
    analyser        TEXT NOT NULL,
    analysis_s      REAL,              -- how long the analysis took (the worker's clock)
    indexed_at      REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS files_root ON files(root, folder);
CREATE INDEX IF NOT EXISTS files_key ON files(key);
CREATE INDEX IF NOT EXISTS files_tempo ON files(tempo_bpm);
CREATE INDEX IF NOT EXISTS files_sha ON files(sha256);
CREATE VIRTUAL TABLE IF NOT EXISTS transcripts USING fts5(
    transcript, content='files', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS files_ai AFTER INSERT ON files BEGIN
    INSERT INTO transcripts(rowid, transcript) VALUES (new.id, new.transcript);
END;
CREATE TRIGGER IF NOT EXISTS files_ad AFTER DELETE ON files BEGIN
    INSERT INTO transcripts(transcripts, rowid, transcript) VALUES ('delete', old.id, old.transcript);
END;
CREATE TRIGGER IF NOT EXISTS files_au AFTER UPDATE OF transcript ON files BEGIN
    INSERT INTO transcripts(transcripts, rowid, transcript) VALUES ('delete', old.id, old.transcript);
    INSERT INTO transcripts(rowid, transcript) VALUES (new.id, new.transcript);
END;
"""


@dataclass
class Analysis:
    """What the analysers found in one file (or the error that stopped them)."""

    status: str = "ok"
    error: str | None = None
    duration_s: float | None = None
    sample_rate_hz: int | None = None
    channels: int | None = None
    key: str | None = None
    tempo_bpm: float | None = None
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    content: str | None = None
    speech_share: float | None = None
    music_share: float | None = None
    silence_share: float | None = None
    has_speech: bool | None = None
    has_music: bool | None = None
    has_clipping: bool | None = None
    clipped_s: float | None = None
    tags: list[str] = field(default_factory=list)
    transcript: str = ""
    vector: np.ndarray | None = None
    analysis_s: float = 0.0


@dataclass(frozen=True)
class Fingerprint:
    path: str
    size_bytes: int
    mtime_ns: int
    sha256: str


@dataclass
class FileRow:
    """One file of the library as the index holds it."""

    path: str
    root: str
    folder: str
    name: str
    size_bytes: int
    mtime_ns: int
    sha256: str
    analysis: Analysis

    def facts(self) -> dict:
        """The analysis as JSON-ready facts (no vector, no timing): what two backends must agree on."""
        d = asdict(self.analysis)
        d.pop("vector")
        d.pop("analysis_s")
        return d


ANALYSIS_COLUMNS = tuple(f.name for f in fields(Analysis))
_BOOL = {"has_speech", "has_music", "has_clipping"}


def lower_words(text: str | None) -> list[str]:
    """The words of a transcript or a query as `begins_words` compares them."""
    return re.findall(r"[a-z0-9']+", (text or "").lower())


def begins_words(text: str | None, terms: str) -> int:
    """1 when each of `terms` (space-separated, lower case) begins a word of `text`. The transcript index
    stems (Porter), so "marketing" finds "market" too: this keeps the words the user said, and what
    grows from them ("budget" → "budgets", "talk" → "talking"), and drops their shorter stems."""
    words = lower_words(text)
    return int(all(any(w.startswith(t) for w in words) for t in terms.split()))


class LibraryIndex:
    """The index database. One connection per thread (the scanner writes from its own)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = connect(self.path)
            self.db.executescript(SCHEMA)
            self.db.create_function("begins_words", 2, begins_words, deterministic=True)
        except sqlite3.DatabaseError as exc:
            raise EarshotError(
                f"the library index {self.path} cannot be opened: {exc}",
                "move it aside and run `earshot library add` again",
            ) from exc
        self._vectors: tuple[int, np.ndarray, np.ndarray] | None = None

    def close(self) -> None:
        self.db.close()

    # -- roots ------------------------------------------------------------------------------
    def add_root(self, root: Path) -> None:
        self.db.execute(
            "INSERT INTO roots(path, added_at) VALUES (?, ?) ON CONFLICT(path) DO NOTHING",
            (str(Path(root).resolve()), time.time()),
        )

    def roots(self) -> list[Path]:
        return [Path(r["path"]) for r in self.db.execute("SELECT path FROM roots ORDER BY path")]

    def remove_root(self, root: Path) -> int:
        """Forget a folder (and every row under it); the files themselves are never touched."""
        root_s = str(Path(root).resolve())
        with self.transaction():
            n = self.db.execute("DELETE FROM files WHERE root=? OR path LIKE ?", (root_s, root_s + "/%")).rowcount
            self.db.execute("DELETE FROM roots WHERE path=? OR path LIKE ?", (root_s, root_s + "/%"))
        self._vectors = None
        return n

    # -- rows -------------------------------------------------------------------------------
    def fingerprints(self, root: Path) -> dict[str, Fingerprint]:
        """Path → (size, mtime, sha256) of every row under a root written by this analyser version."""
        rows = self.db.execute(
            "SELECT path, size_bytes, mtime_ns, sha256 FROM files WHERE root=? AND analyser=?",
            (str(root), ANALYSER_VERSION),
        )
        return {r["path"]: Fingerprint(r["path"], r["size_bytes"], r["mtime_ns"], r["sha256"]) for r in rows}

    def paths(self, root: Path) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM files WHERE root=?", (str(root),))]

    def by_sha(self, sha256: str) -> FileRow | None:
        """An analysed row with this content (a moved or copied file needs no second analysis)."""
        row = self.db.execute(
            "SELECT * FROM files WHERE sha256=? AND analyser=? AND status='ok' LIMIT 1", (sha256, ANALYSER_VERSION)
        ).fetchone()
        return self._row(row) if row else None

    def upsert(self, row: FileRow) -> None:
        """Write one file's row: insert, or replace the analysis of the row with the same path."""
        a = row.analysis
        values = {
            "path": row.path,
            "root": row.root,
            "folder": row.folder,
            "name": row.name,
            "size_bytes": row.size_bytes,
            "mtime_ns": row.mtime_ns,
            "sha256": row.sha256,
            **{c: getattr(a, c) for c in ANALYSIS_COLUMNS},
            "analyser": ANALYSER_VERSION,
            "indexed_at": time.time(),
        }
        values["tags"] = json.dumps(a.tags)
        values["vector"] = None if a.vector is None else np.asarray(a.vector, np.float32).tobytes()
        for b in _BOOL:
            values[b] = None if values[b] is None else int(values[b])
        cols = list(values)
        update = ", ".join(f"{c}=excluded.{c}" for c in cols if c != "path")
        self.db.execute(
            f"INSERT INTO files({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT(path) DO UPDATE SET {update}",
            [values[c] for c in cols],
        )
        self._vectors = None

    def touch(self, path: str, size_bytes: int, mtime_ns: int) -> None:
        """A file whose mtime changed but whose content did not: keep its analysis."""
        self.db.execute("UPDATE files SET size_bytes=?, mtime_ns=? WHERE path=?", (size_bytes, mtime_ns, path))

    def delete_paths(self, paths: list[str]) -> int:
        with self.transaction():
            n = sum(self.db.execute("DELETE FROM files WHERE path=?", (p,)).rowcount for p in paths)
        self._vectors = None
        return n

    def row(self, path: str) -> FileRow | None:
        r = self.db.execute("SELECT * FROM files WHERE path=?", (str(path),)).fetchone()
        return self._row(r) if r else None

    def rows(self, root: Path | None = None) -> list[FileRow]:
        if root is None:
            cur = self.db.execute("SELECT * FROM files ORDER BY path")
        else:
            cur = self.db.execute("SELECT * FROM files WHERE root=? ORDER BY path", (str(Path(root).resolve()),))
        return [self._row(r) for r in cur]

    def count(self, root: Path | None = None) -> int:
        if root is None:
            return int(self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0])
        return int(
            self.db.execute("SELECT COUNT(*) FROM files WHERE root=?", (str(Path(root).resolve()),)).fetchone()[0]
        )

    def status(self) -> list[dict]:
        """Per root: files, errors, hours of audio, when it was last indexed."""
        out = []
        for root in self.roots():
            r = self.db.execute(
                "SELECT COUNT(*) n, SUM(status='error') errors, SUM(duration_s) seconds, MAX(indexed_at) last "
                "FROM files WHERE root=?",
                (str(root),),
            ).fetchone()
            out.append(
                {
                    "root": str(root),
                    "files": r["n"],
                    "errors": r["errors"] or 0,
                    "audio_hours": round((r["seconds"] or 0.0) / 3600, 3),
                    "last_indexed_at": r["last"],
                }
            )
        return out

    def _row(self, r: sqlite3.Row) -> FileRow:
        kw = {c: r[c] for c in ANALYSIS_COLUMNS if c not in ("tags", "vector")}
        for b in _BOOL:
            kw[b] = None if kw[b] is None else bool(kw[b])
        vec = None if r["vector"] is None else np.frombuffer(r["vector"], np.float32)
        analysis = Analysis(**kw, tags=json.loads(r["tags"]), vector=vec)
        return FileRow(
            r["path"], r["root"], r["folder"], r["name"], r["size_bytes"], r["mtime_ns"], r["sha256"], analysis
        )

    # -- vectors (nearest neighbours) -------------------------------------------------------
    def vectors(self):
        """(ids, Normalised matrix) of every row with a descriptor vector; cached until a write."""
        from .descriptors import Normalised

        # data_version changes when another connection commits; this one's writes clear the cache.
        stamp = int(self.db.execute("PRAGMA data_version").fetchone()[0])
        if self._vectors is None or self._vectors[0] != stamp:
            ids, blobs = [], []
            for r in self.db.execute("SELECT id, vector FROM files WHERE vector IS NOT NULL"):
                ids.append(r[0])
                blobs.append(r[1])
            dim = len(blobs[0]) // 4 if blobs else 0
            matrix = (
                np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), dim)
                if blobs
                else np.zeros((0, 0), np.float32)
            )
            self._vectors = (stamp, np.asarray(ids, np.int64), Normalised(matrix))
        return self._vectors[1], self._vectors[2]

    def transaction(self):
        return immediate_transaction(self.db)


def library_roots(path: Path) -> tuple[Path, ...]:
    """The folders added to the library at index `path` (for reading only), without creating an index."""
    path = Path(path)
    if not path.is_file():
        return ()
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return tuple(Path(r[0]) for r in db.execute("SELECT path FROM roots"))
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return ()
