"""Running a validated plan: each step in a worker thread, with a timeout, recorded in the store.

A failing step stops the plan; what already ran stays (its artifacts are real files with
provenance), the failure is recorded with its error, and the reply explains it. Inputs are never
overwritten: tools can only write through ToolContext, which claims fresh names.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import faults
from .audio_models.base import ToolContext, ToolResult
from .config import EarshotConfig
from .errors import Cancelled, EarshotError, ToolFailed
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

    async def _run_step(self, index, name, raw_args, session, turn_id, outputs, texts, emit, cancel) -> StepRecord:
        tool = self.registry.get(name)
        emit(ToolStarted(index, name, dict(raw_args)))
        run_id = session.begin_tool_run(turn_id, index, name, raw_args)
        faults.point("tool_run")
        started = time.monotonic()
        loop = asyncio.get_running_loop()

        def on_progress(fraction: float, message: str) -> None:
            loop.call_soon_threadsafe(emit, ToolProgress(index, name, fraction, message))

        ctx = ToolContext(
            session=session,
            config=self.config,
            models=self.models,
            tool_name=name,
            tool_run_id=run_id,
            on_progress=on_progress,
            cancel_event=cancel,
            load_llm=self.load_llm,
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
        try:
            args = build_args(tool, raw_args, resolve, step_index=index)
            timeout = self.config.execution.tool_timeout_s
            result = await asyncio.wait_for(asyncio.to_thread(tool.run, args, ctx), timeout=timeout)
        except TimeoutError:
            cancel.set()  # the worker stops at its next progress report; its partial output is discarded
            status, error = (
                "timeout",
                ToolFailed(
                    f"{name} took longer than {timeout:.0f} s and was stopped",
                    "raise execution.tool_timeout_s or use a shorter file",
                ),
            )
        except asyncio.CancelledError:
            cancel.set()
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
