"""Running a validated plan: each step in a worker thread, within its limits, recorded in the store.

A failing step stops the plan; what already ran stays (its artifacts are real files with
provenance), the failure is recorded with its error, and the reply explains it. Inputs are never
overwritten: tools can only write through ToolContext, which claims fresh names.

Limits (issue 16): every tool declares a time limit and a memory ceiling in its ToolSpec. A watchdog
checks the step every `execution.watchdog_interval_ms`: past its time, or with the process's resident
memory grown by more than its ceiling since the step began, the step is stopped and reported, and the
session carries on. A Python thread cannot be killed, so stopping is in two stages: the step's cancel
event is set (a tool stops at its next progress report, and ToolContext never registers a file once it
is set); a tool still running `execution.stop_grace_s` later gets an exception raised inside its thread
(CPython's PyThreadState_SetAsyncExc), which lands at its next Python instruction — a pure-Python
loop that never reports progress stops too. Only a single native call that never returns (one huge
FFT) outlives both; the step is still reported at once and its late result is discarded. The models
stay loaded in-process for the next step (a subprocess per step would reload them every time).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import faults
from .audio_models.base import ToolContext, ToolResult
from .config import EarshotConfig
from .errors import Cancelled, EarshotError, PlanInvalid, ToolFailed
from .events import ArtifactInfo, Event, ToolFinished, ToolProgress, ToolStarted
from .llm.plan import Plan, build_args, resolve_ref, resolve_text
from .runtime.models import ModelStore
from .store.session import Artifact, Session


@dataclass
class StepRecord:
    step: int
    tool: str
    status: str
    result: ToolResult | None
    error: EarshotError | None = None
    duration_s: float = 0.0


@dataclass
class ExecutionReport:
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(s.status == "ok" for s in self.steps)

    @property
    def artifacts(self) -> list[Artifact]:
        return [a for s in self.steps if s.result for a in s.result.artifacts]

    @property
    def failure(self) -> StepRecord | None:
        return next((s for s in self.steps if s.status != "ok"), None)


def artifact_info(a: Artifact) -> ArtifactInfo:
    return ArtifactInfo(a.id, str(a.path), a.name, a.kind, a.duration_s, a.sample_rate_hz, a.channels)


class Executor:
    def __init__(
        self, registry, config: EarshotConfig, models: ModelStore, load_llm: Callable[[], object] | None = None
    ) -> None:
        self.registry = registry
        self.config = config
        self.models = models
        self.load_llm = load_llm  # the planner's model, for tools that write with it (compose)

    async def run(
        self,
        plan: Plan,
        session: Session,
        turn_id: int,
        emit: Callable[[Event], None],
        cancel: threading.Event | None = None,
    ) -> ExecutionReport:
        report = ExecutionReport()
        if len(plan.steps) > self.config.planner.max_steps:
            # the grammar and the plan parser already refuse this; a plan made any other way is refused here
            raise PlanInvalid(
                f"the plan has {len(plan.steps)} steps, over the limit of {self.config.planner.max_steps}",
                "ask for fewer things at once",
            )
        outputs: dict[int, list[Artifact]] = {}
        texts: dict[int, str] = {}
        cancel = cancel or threading.Event()
        for index, step in enumerate(plan.steps, 1):
            record = await self._run_step(index, step.tool, step.args, session, turn_id, outputs, texts, emit, cancel)
            report.steps.append(record)
            if record.status != "ok":
                break
            outputs[index] = record.result.artifacts
            if record.result.text is not None:
                texts[index] = record.result.text
        return report

    def limits(self, spec) -> StepLimits:
        options = self.config.execution
        return StepLimits(
            min(spec.timeout_s * options.limit_scale, options.tool_timeout_s),
            spec.max_memory_mb * options.limit_scale,
        )

    async def _watch(self, worker: ToolThread, stop: StepStop, limits: StepLimits):
        """The tool's result, or LimitExceeded once it passes its time or memory limit (see the module
        notes); the stopped thread is given `stop_grace_s` to reach a progress point, then interrupted."""
        options = self.config.execution
        started, base = time.monotonic(), rss_mb()
        name = worker.thread.name.removeprefix("tool:")
        while True:
            done, _ = await asyncio.wait({worker.future}, timeout=options.watchdog_interval_ms / 1000)
            if done:
                return worker.future.result()
            elapsed, grown = time.monotonic() - started, rss_mb() - base
            if elapsed > limits.timeout_s:
                exceeded = LimitExceeded(
                    "timeout",
                    ToolFailed(
                        f"{name} took longer than its limit of {limits.timeout_s:.0f} s and was stopped",
                        "use a shorter file, or raise execution.limit_scale in config.toml",
                    ),
                )
            elif grown > limits.memory_mb:
                exceeded = LimitExceeded(
                    "failed",
                    ToolFailed(
                        f"{name} used more than its limit of {limits.memory_mb:.0f} MB of memory and was stopped",
                        "use a shorter file, or raise execution.limit_scale in config.toml",
                    ),
                )
            else:
                continue
            # whatever the stopped tool ends with later is nobody's concern (and must not be logged)
            worker.future.add_done_callback(lambda f: f.cancelled() or f.exception())
            stop.set()  # stage 1: the tool stops at its next progress report; nothing more is registered
            worker.stopped_at = time.monotonic()
            if not await asyncio.to_thread(worker.finished.wait, options.stop_grace_s):
                worker.interrupt()  # stage 2: an exception inside the thread at its next instruction
                await asyncio.to_thread(worker.finished.wait, options.stop_grace_s)
            raise exceeded

    async def _run_step(self, index, name, raw_args, session, turn_id, outputs, texts, emit, cancel) -> StepRecord:
        tool = self.registry.get(name)
        emit(ToolStarted(index, name, dict(raw_args)))
        run_id = session.begin_tool_run(turn_id, index, name, raw_args)
        faults.point("tool_run")
        started = time.monotonic()
        loop = asyncio.get_running_loop()

        def on_progress(fraction: float, message: str) -> None:
            loop.call_soon_threadsafe(emit, ToolProgress(index, name, fraction, message))

        limits = self.limits(tool.spec)
        stop = StepStop(cancel)
        ctx = ToolContext(
            session=session,
            config=self.config,
            models=self.models,
            tool_name=name,
            tool_run_id=run_id,
            on_progress=on_progress,
            cancel_event=stop,
            load_llm=self.load_llm,
            max_memory_mb=int(limits.memory_mb),
        )

        def resolve(ref: str, want: str = "file"):
            if want == "text":
                return resolve_text(ref, session, index, texts)
            return resolve_ref(
                ref,
                session,
                self.config.paths.allowed_roots,
                index,
                {k: v[0] for k, v in outputs.items() if v},
                self.config.limits,
            )

        status, result, error = "ok", None, None
        worker: ToolThread | None = None
        try:
            args = build_args(tool, raw_args, resolve, step_index=index)
            worker = ToolThread(name, lambda: tool.run(args, ctx), loop)
            result = await self._watch(worker, stop, limits)
        except LimitExceeded as exc:
            status, error = exc.status, exc.error
        except asyncio.CancelledError:
            stop.set()
            if worker is not None:
                worker.interrupt_later(self.config.execution.stop_grace_s)
            status, error = "cancelled", Cancelled(f"{name} was interrupted", "ask again to rerun it")
            session.end_tool_run(run_id, status, time.monotonic() - started, error=str(error))
            raise
        except Cancelled as exc:
            status, error = "cancelled", exc
        except EarshotError as exc:
            status, error = "failed", exc
        except Exception as exc:  # a bug in a tool: recorded and explained, never a crash of the session
            status, error = (
                "failed",
                ToolFailed(
                    f"{name} crashed: {type(exc).__name__}: {exc}",
                    "this is a bug; the session and its files are intact",
                ),
            )
        duration = time.monotonic() - started
        session.end_tool_run(
            run_id, status, duration, summary=result.summary if result else None, error=str(error) if error else None
        )
        emit(
            ToolFinished(
                index,
                name,
                status,
                round(duration, 3),
                result.summary if result else "",
                tuple(artifact_info(a) for a in result.artifacts) if result else (),
                str(error) if error else None,
                dict(result.data) if result else {},
            )
        )
        return StepRecord(index, name, status, result, error, duration)


@dataclass(frozen=True)
class StepLimits:
    timeout_s: float
    memory_mb: float


class LimitExceeded(Exception):
    def __init__(self, status: str, error: EarshotError) -> None:
        super().__init__(str(error))
        self.status, self.error = status, error


class StepStop:
    """A step's cancel event: set by the watchdog (a limit) or by the turn's own cancel (Esc, barge-in)."""

    def __init__(self, turn: threading.Event) -> None:
        self.turn = turn
        self.own = threading.Event()

    def is_set(self) -> bool:
        return self.own.is_set() or self.turn.is_set()

    def set(self) -> None:
        self.own.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.own.wait(timeout) or self.turn.is_set()


class ToolStopped(BaseException):
    """Raised inside a tool's thread that ignored its cancel event (BaseException: a tool's own
    `except Exception` cannot swallow it)."""


class ToolThread:
    """One tool run on its own daemon thread, so that the watchdog knows which thread to stop."""

    def __init__(self, name: str, fn, loop: asyncio.AbstractEventLoop) -> None:
        self.future: asyncio.Future = loop.create_future()
        # A cancelled turn stops awaiting the future; what the tool ended with (its Cancelled) is then read
        # here, or asyncio prints "Future exception was never retrieved" over the voice loop's output.
        self.future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.finished = threading.Event()
        self.stopped_at: float | None = None
        self.ended_at: float | None = None

        def body() -> None:
            value, error = None, None
            try:
                value = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                error = exc
            finally:
                self.ended_at = time.monotonic()
                self.finished.set()
            try:
                loop.call_soon_threadsafe(_settle, self.future, value, error)
            except RuntimeError:
                pass  # the loop is gone (the step was reported and the turn ended): nothing waits for it

        self.thread = threading.Thread(target=body, name=f"tool:{name}", daemon=True)
        self.thread.start()

    def interrupt(self) -> bool:
        """Raise ToolStopped inside the thread at its next Python instruction."""
        if self.finished.is_set() or self.thread.ident is None:
            return False
        done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(self.thread.ident), ctypes.py_object(ToolStopped)
        )
        return done == 1

    def interrupt_later(self, grace_s: float) -> None:
        def later() -> None:
            if not self.finished.wait(grace_s):
                self.interrupt()

        threading.Thread(target=later, name="tool-stopper", daemon=True).start()


def _settle(future: asyncio.Future, value, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc if isinstance(exc, Exception) else Cancelled("the tool was stopped", ""))
    else:
        future.set_result(value)


def rss_mb() -> float:
    """This process's resident memory (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE_BYTES / 1e6
    except (OSError, ValueError, IndexError):
        return 0.0


PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
