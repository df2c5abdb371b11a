"""The tool protocol: what one tool file provides and what it may use while running.

A tool is a module with four parts:

    Args   a dataclass; field types, bounds and docs become the planner's JSON schema.
           A field typed `Artifact` (or `list[Artifact]`) takes a reference in a plan ("@a3",
           "@last", "$1" or a workspace file name) and holds the resolved Artifact when run.
           Metadata keys: doc (str), min / max (numbers), max_length (str), max_items (lists).
    SPEC   a ToolSpec: name, one-line summary for the planner, example requests, and the method
           (which learned model or which signal-processing technique, said in replies too).
    run    run(args, ctx) -> ToolResult, called in a worker thread.
    tests  in tests/, asserting a measured property of the output.

Tools never overwrite an input: every output goes through `ctx.new_audio_artifact` or
`ctx.new_file_artifact`, which claims a fresh name in the workspace and records provenance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import faults
from ..audio.files import AudioInfo, load_audio, probe, write_audio
from ..config import EarshotConfig
from ..errors import Cancelled, EarshotError, disk_full
from ..runtime.models import ModelStore
from ..store.session import Artifact, Session


@dataclass(frozen=True)
class ToolSpec:
    name: str
    summary: str  # one line, shown to the planner: keep it short (it is latency)
    # What the assistant says it is doing, the moment the plan exists ("denoising {file}"): a template over the
    # step's arguments, or one per value of its `op` argument. reply.acknowledgement() speaks it.
    doing: str | Mapping[str, str] = ""
    examples: tuple[str, ...] = ()  # requests that should route here (docs and the routing set)
    method: str = ""  # "DeepFilterNet3 (learned, ONNX)" or "spectral gating (signal processing)"
    learned: bool = True  # False: a signal-processing method, and replies say so
    licence: str = ""  # of the model or library behind the method
    # Limits the executor enforces on one run (executor.py): wall time, and growth of the process's
    # resident memory during the run. Sized for a 30-minute input (limits.max_duration_s) on a 2-core
    # laptop, with room to spare: they stop a runaway, not a slow machine (execution.limit_scale).
    timeout_s: float = 300.0
    max_memory_mb: int = 2048

    @property
    def edits_project(self) -> bool:
        """A studio-project edit ("project …" method): it processes no audio until a render."""
        return self.method.startswith("project ")


@dataclass
class ToolResult:
    summary: str  # one or two sentences for the reply
    artifacts: list[Artifact] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)  # JSON-serialisable facts (a transcript's text…)

    @property
    def text(self) -> str | None:
        """The text a later step's `$N` resolves to when a text argument names this step."""
        value = self.data.get("text")
        return value if isinstance(value, str) else None


@dataclass
class ToolContext:
    """What a running tool may touch: the session (for artifacts), config, models, progress, cancel."""

    session: Session
    config: EarshotConfig
    models: ModelStore
    tool_name: str
    tool_run_id: int | None = None
    on_progress: Callable[[float, str], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    load_llm: Callable[[], Any] | None = None  # the planner's loaded model, handed over by the executor
    max_memory_mb: int | None = None  # the run's memory ceiling (inputs that cannot fit are refused up front)
    _last_progress_s: float = 0.0

    # -- progress and cancellation ---------------------------------------------------------
    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress (0..1); also the point where a cancelled run stops."""
        faults.point("tool_progress")
        self.check_cancelled()
        now = time.monotonic()
        if self.on_progress and (now - self._last_progress_s > 0.1 or fraction >= 1.0):
            self._last_progress_s = now
            self.on_progress(min(max(fraction, 0.0), 1.0), message)

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise Cancelled(f"{self.tool_name} was interrupted", "nothing was written; ask again to rerun it")

    # -- inputs ----------------------------------------------------------------------------
    def load_audio(
        self, artifact: Artifact, sample_rate_hz: int | None = None, mono: bool = True
    ) -> tuple[np.ndarray, int]:
        """float32 samples of an artifact: (frames,) if mono else (frames, channels); clear error if bad."""
        return load_audio(
            artifact.path,
            sample_rate_hz=sample_rate_hz,
            mono=mono,
            limits=self.config.limits,
            max_bytes=None if self.max_memory_mb is None else self.max_memory_mb * 1_000_000 // 2,
            what=self.tool_name,
        )

    def probe(self, artifact: Artifact) -> AudioInfo:
        return probe(artifact.path, self.config.limits)

    def model_path(self, name: str) -> Path:
        return self.models.path(name)

    def llm(self):
        """The loaded planner model (shared with the planner), for tools that write with it (compose).
        Calls are serialised inside the client, so a tool and a plan never run on it at once."""
        if self.load_llm is None:
            raise EarshotError(
                f"{self.tool_name} needs the planner's language model, which this run did not load",
                "run it as a request (`earshot ask`), where the planner is loaded",
            )
        return self.load_llm()

    # -- outputs ---------------------------------------------------------------------------
    def new_audio_artifact(
        self,
        audio: np.ndarray,
        sample_rate_hz: int,
        name_hint: str,
        parents: list[Artifact] | tuple[Artifact, ...] = (),
        fmt: str = "wav",
        meta: dict | None = None,
    ) -> Artifact:
        """Write audio to a fresh workspace file and record it with its provenance. The file is written
        under a scratch name and renamed into place only when complete (a crash leaves no half file)."""
        self.check_cancelled()
        scratch = self.session.scratch_path(f".{fmt}")
        try:
            info = write_audio(scratch, audio, sample_rate_hz, fmt)
            self.check_cancelled()  # stopped while writing (a limit, Esc): the file is not published
            path = self.session.publish(scratch, name_hint, f".{fmt}")
        finally:
            scratch.unlink(missing_ok=True)
        return self.session.add_artifact(
            path,
            "audio",
            tool=self.tool_name,
            tool_run_id=self.tool_run_id,
            parents=tuple(p.ref for p in parents),
            duration_s=info.duration_s,
            sample_rate_hz=info.sample_rate_hz,
            channels=info.channels,
            meta=meta,
        )

    def audio_stream(
        self,
        name_hint: str,
        sample_rate_hz: int,
        channels: int,
        parents: list[Artifact] | tuple[Artifact, ...] = (),
        meta: dict | None = None,
    ) -> AudioStream:
        """A WAV (32-bit float) written block by block, for inputs too long to hold in memory:

            with ctx.audio_stream("take-denoised", rate, 2, parents=[args.file]) as out:
                out.write(block)            # (frames, channels) float32, finite
            out.artifact                    # registered once the block closes without error

        It is written under a temporary name and renamed into place at the end, like every output."""
        return AudioStream(self, name_hint, sample_rate_hz, channels, tuple(parents), meta)

    def new_file_artifact(
        self,
        content: str | bytes,
        name_hint: str,
        suffix: str,
        kind: str,
        parents: list[Artifact] | tuple[Artifact, ...] = (),
        meta: dict | None = None,
    ) -> Artifact:
        """Write a text/JSON/MIDI file to a fresh workspace path and record it (written under a scratch
        name, renamed into place when complete)."""
        self.check_cancelled()
        data = content.encode("utf-8") if isinstance(content, str) else content
        scratch = self.session.scratch_path(suffix)
        try:
            try:
                scratch.write_bytes(data)
            except OSError as exc:
                full = disk_full(self.session.workspace, len(data), exc)
                if full is not None:
                    raise full from exc
                raise
            faults.point("artifact_write")
            self.check_cancelled()
            path = self.session.publish(scratch, name_hint, suffix)
        finally:
            scratch.unlink(missing_ok=True)
        return self.session.add_artifact(
            path,
            kind,
            tool=self.tool_name,
            tool_run_id=self.tool_run_id,
            parents=tuple(p.ref for p in parents),
            meta=meta,
        )


def require_audio(artifact: Artifact, tool: str) -> None:
    """Refuse a non-audio artifact with a clear message (e.g. denoising a transcript)."""
    if artifact.kind not in ("audio", "input"):
        raise EarshotError(
            f"{tool} needs audio, but {artifact.ref} ({artifact.name}) is {artifact.kind}",
            "name an audio file or artifact",
        )


def stem_of(artifact: Artifact) -> str:
    """The file name without suffix, for naming outputs ("memo" → "memo-denoised")."""
    return Path(artifact.name).stem


class AudioStream:
    """See ToolContext.audio_stream."""

    def __init__(self, ctx: ToolContext, name_hint: str, rate: int, channels: int, parents, meta) -> None:
        self.ctx, self.name_hint, self.rate, self.channels, self.parents, self.meta = (
            ctx,
            name_hint,
            rate,
            channels,
            parents,
            meta,
        )
        self.frames = 0
        self.artifact: Artifact | None = None

    def __enter__(self) -> AudioStream:
        import soundfile as sf

        self.ctx.check_cancelled()
        self.tmp = self.ctx.session.scratch_path(".wav")
        self.file = sf.SoundFile(str(self.tmp), "w", self.rate, self.channels, format="WAV", subtype="FLOAT")
        return self

    def write(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32).reshape(-1, self.channels)
        if not np.all(np.isfinite(block)):
            raise EarshotError(
                "the result contains NaN or infinite samples", "this is a bug in the tool; please report it"
            )
        self.file.write(block)
        self.frames += len(block)

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            self.file.close()
            if exc_type is not None:
                return False
            if self.frames == 0:
                raise EarshotError("the result is empty (no samples)", "check the times or options of the request")
            self.ctx.check_cancelled()
            self.path = self.ctx.session.publish(self.tmp, self.name_hint, ".wav")
        finally:
            self.tmp.unlink(missing_ok=True)
        self.artifact = self.ctx.session.add_artifact(
            self.path,
            "audio",
            tool=self.ctx.tool_name,
            tool_run_id=self.ctx.tool_run_id,
            parents=tuple(p.ref for p in self.parents),
            duration_s=self.frames / self.rate,
            sample_rate_hz=self.rate,
            channels=self.channels,
            meta=self.meta,
        )
        return False
