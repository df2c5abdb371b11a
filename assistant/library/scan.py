"""Adding a folder to the library: walk it, fingerprint every file, analyse what is new or changed.

    unchanged   same path, size and mtime as its row → nothing is read (an incremental re-scan of an
                unchanged library does no work)
    touched     size or mtime changed but the sha256 did not → the row keeps its analysis
    moved       the sha256 matches an analysed row elsewhere → its analysis is copied
    new         everything else is analysed by the backend; each row is written the moment its file's
                analysis arrives, so a crash or `kill -9` keeps every finished file and the next
                `add` picks up the rest (rows are keyed by path: never a duplicate)
    gone        rows whose file no longer exists are removed (the folder is the truth)

Unreadable files get a row with their error. Cancelling (Ctrl+C, Esc, `cancel`) stops the workers
and keeps every row already written.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import EarshotError
from ..store.hashing import sha256_of
from .index import Analysis, FileRow, LibraryIndex

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus", ".m4a"})


@dataclass(frozen=True)
class ScanProgress:
    done: int  # files analysed so far in this scan
    total: int  # files this scan has to analyse
    errors: int
    elapsed_s: float
    path: str = ""

    @property
    def eta_s(self) -> float | None:
        if self.done == 0:
            return None
        return self.elapsed_s / self.done * (self.total - self.done)


@dataclass
class ScanReport:
    root: str
    backend: str
    workers: int
    files: int = 0  # audio files found under the root
    analysed: int = 0
    unchanged: int = 0
    touched: int = 0
    moved: int = 0
    removed: int = 0
    errors: int = 0
    elapsed_s: float = 0.0
    analyse_s: float = 0.0  # wall time of the analysis phase only
    cancelled: bool = False

    @property
    def files_per_s(self) -> float:
        return self.analysed / self.analyse_s if self.analyse_s > 0 else 0.0

    def to_json(self) -> dict:
        return {
            **{k: v for k, v in self.__dict__.items()},
            "files_per_s": round(self.files_per_s, 3),
            "elapsed_s": round(self.elapsed_s, 3),
            "analyse_s": round(self.analyse_s, 3),
        }


def audio_files(root: Path) -> list[Path]:
    """Audio files under root, recursively, in path order (hidden files and folders skipped)."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and Path(f).suffix.lower() in AUDIO_SUFFIXES:
                found.append(Path(folder) / f)
    return found


def _row(root: Path, path: Path, size: int, mtime_ns: int, sha: str, analysis: Analysis) -> FileRow:
    folder = path.parent.relative_to(root).as_posix()
    return FileRow(str(path), str(root), "" if folder == "." else folder, path.name, size, mtime_ns, sha, analysis)


def scan(
    index: LibraryIndex,
    root: Path,
    make_backend: Callable[[], object],
    *,
    on_progress: Callable[[ScanProgress], None] | None = None,
    cancel: threading.Event | None = None,
) -> ScanReport:
    """Bring the index up to date with `root`. `make_backend()` is called only if there is work."""
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise EarshotError(f"{root} is not a folder", "name a folder of audio files: earshot library add DIR")
    started = time.monotonic()
    cancel = cancel or threading.Event()
    index.add_root(root)
    known = index.fingerprints(root)
    files = audio_files(root)
    report = ScanReport(str(root), "", 0, files=len(files))
    todo: dict[str, tuple[Path, int, int, str]] = {}
    for path in files:
        st = path.stat()
        old = known.get(str(path))
        if old is not None and old.size_bytes == st.st_size and old.mtime_ns == st.st_mtime_ns:
            report.unchanged += 1
            continue
        sha = sha256_of(path)
        if old is not None and old.sha256 == sha:
            index.touch(str(path), st.st_size, st.st_mtime_ns)
            report.touched += 1
            continue
        same = index.by_sha(sha)
        if same is not None:
            index.upsert(_row(root, path, st.st_size, st.st_mtime_ns, sha, same.analysis))
            report.moved += 1
            continue
        todo[str(path)] = (path, st.st_size, st.st_mtime_ns, sha)
    present = {str(p) for p in files}
    gone = [p for p in index.paths(root) if p not in present]
    report.removed = index.delete_paths(gone) if gone else 0
    if todo:
        backend = make_backend()
        report.backend, report.workers = backend.name, backend.workers
        t0 = time.monotonic()
        done = 0
        try:
            for path_s, analysis in backend.map(list(todo)):
                path, size, mtime_ns, sha = todo[path_s]
                index.upsert(_row(root, path, size, mtime_ns, sha, analysis))
                done += 1
                report.analysed = done
                report.errors += analysis.status != "ok"
                if on_progress:
                    on_progress(ScanProgress(done, len(todo), report.errors, time.monotonic() - t0, path_s))
                if cancel.is_set():
                    report.cancelled = True
                    break
        except KeyboardInterrupt:
            report.cancelled = True
            raise
        finally:
            report.analyse_s = time.monotonic() - t0
            backend.close(cancelled=report.cancelled or done < len(todo))
    report.elapsed_s = time.monotonic() - started
    return report
