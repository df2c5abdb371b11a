"""Issue 16, item 5: limits that hold. Each tool runs within its ToolSpec's time limit and memory
ceiling; a runaway is stopped and reported, the session carries on; no plan runs more than its step
limit. The runaways here are real code (loops, allocations) in tools registered for the test."""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from dataclasses import dataclass, replace

import numpy as np
import pytest

from assistant.audio_models.base import ToolContext, ToolResult, ToolSpec
from assistant.audio_models.registry import Registry, Tool, default_registry
from assistant.config import ExecutionOptions, PlannerOptions
from assistant.errors import PlanInvalid
from assistant.events import ToolFinished
from assistant.executor import Executor, rss_mb
from assistant.llm.grammar_bound import max_output_chars
from assistant.llm.plan import Plan, Step, parse_plan
from assistant.llm.schema import plan_schema, schema_to_gbnf

THREADS: dict[str, threading.Thread] = {}


@dataclass
class Args:
    seconds: float = 0.0


def _spin_with_progress(args: Args, ctx: ToolContext) -> ToolResult:
    THREADS["spin"] = threading.current_thread()
    n = 0
    while True:  # a runaway that reports progress
        n += 1
        ctx.progress(0.5, f"spin {n}")


def _spin_silently(args: Args, ctx: ToolContext) -> ToolResult:
    THREADS["silent"] = threading.current_thread()
    x = 0
    while True:  # a runaway that never reports progress nor checks its cancel event
        x = (x * 31 + 7) % 1_000_003


def _hog(args: Args, ctx: ToolContext) -> ToolResult:
    THREADS["hog"] = threading.current_thread()
    held = []
    while True:  # grows without end, 20 MB at a time, touching every page
        held.append(np.ones(5_000_000, np.float32))
        ctx.progress(0.5, f"{len(held) * 20} MB")


def _write_after_limit(args: Args, ctx: ToolContext) -> ToolResult:
    THREADS["late"] = threading.current_thread()
    time.sleep(args.seconds)  # past its limit; then it tries to write a file
    art = ctx.new_file_artifact("late", "late", ".txt", "text")
    return ToolResult("wrote", [art])


def _quick(args: Args, ctx: ToolContext) -> ToolResult:
    return ToolResult("done", [ctx.new_file_artifact("fine", "quick", ".txt", "text")])


def _tool(name, run, timeout_s=0.6, memory_mb=2048):
    return Tool(ToolSpec(name=name, summary=name, timeout_s=timeout_s, max_memory_mb=memory_mb), Args, run)


@pytest.fixture
def executor(config):
    registry = Registry(
        [
            _tool("spin", _spin_with_progress),
            _tool("silent", _spin_silently),
            _tool("hog", _hog, timeout_s=60, memory_mb=200),
            _tool("late", _write_after_limit),
            _tool("quick", _quick),
        ]
    )
    config = replace(config, execution=ExecutionOptions(stop_grace_s=0.5, watchdog_interval_ms=50))
    return Executor(registry, config, models=None)


def _run(executor, session, tool, **args):
    events = []
    turn = session.begin_turn(tool)
    report = asyncio.run(executor.run(Plan((Step(tool, dict(args)),), None, ""), session, turn, events.append))
    (finished,) = [e for e in events if isinstance(e, ToolFinished)]
    return report.steps[0], finished


@pytest.mark.parametrize("tool", ["spin", "silent"])
def test_a_runaway_is_stopped_at_its_time_limit_and_the_session_carries_on(executor, session, tool):
    started = time.monotonic()
    record, finished = _run(executor, session, tool)
    reported_after = time.monotonic() - started
    assert record.status == "timeout" and finished.status == "timeout"
    assert "took longer than its limit of 1 s and was stopped" in finished.error and "\n" not in finished.error
    THREADS[tool].join(5.0)
    assert not THREADS[tool].is_alive(), f"{tool} kept running after it was stopped"
    assert reported_after < 0.6 + 0.5 + 0.5 + 2.0  # limit + grace + grace, with slack for a busy machine
    # the session carries on: the next step runs and registers its file
    record, _ = _run(executor, session, "quick")
    assert record.status == "ok" and session.last_artifact().name == "quick.txt"


def test_a_memory_hog_is_stopped_at_its_ceiling(executor, session):
    base = rss_mb()
    record, finished = _run(executor, session, "hog")
    assert record.status == "failed"
    assert "used more than its limit of 200 MB of memory and was stopped" in finished.error
    THREADS["hog"].join(5.0)
    assert not THREADS["hog"].is_alive()
    # What it held is released with its thread (on a busy CPU the watchdog may see it late, and the
    # allocator return the pages a moment after the thread ends).
    deadline = time.monotonic() + 10
    while rss_mb() - base >= 400 and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.1)
    assert rss_mb() - base < 400


def test_a_tool_stopped_at_its_limit_registers_nothing(executor, session):
    before = len(session.artifacts())
    record, _ = _run(executor, session, "late", seconds=1.5)
    assert record.status == "timeout"
    THREADS["late"].join(5.0)
    assert len(session.artifacts()) == before
    assert not [p for p in session.workspace.iterdir() if p.suffix == ".txt"]


def test_every_tool_declares_limits_the_executor_enforces(config):
    ex = Executor(default_registry(), config, models=None)
    for tool in default_registry():
        limits = ex.limits(tool.spec)
        assert 10 <= limits.timeout_s <= config.execution.tool_timeout_s, tool.name
        assert 256 <= limits.memory_mb <= 8192, tool.name
    slow = Executor(default_registry(), replace(config, execution=ExecutionOptions(limit_scale=1.5)), models=None)
    denoise = default_registry().get("denoise").spec
    assert slow.limits(denoise).timeout_s == 1.5 * ex.limits(denoise).timeout_s


def test_a_plan_can_never_run_more_than_its_step_limit(config, session):
    """Three walls: the schema (hence the grammar) allows at most max_steps, the parser refuses more, and
    the executor refuses a longer plan however it was made."""
    registry = default_registry()
    max_steps = PlannerOptions().max_steps
    schema = plan_schema(registry, max_steps, 400)
    answer, work = schema["anyOf"]
    assert answer["properties"]["steps"]["maxItems"] == 0 and work["properties"]["steps"]["maxItems"] == max_steps
    gbnf = schema_to_gbnf(schema)  # the grammar llama.cpp decodes under: the step list is a bounded repeat
    assert max_output_chars(gbnf) < max_steps * 10_000
    step = {"tool": "describe_project", "args": {}}
    too_long = (
        '{"say": null, "steps": [' + ", ".join(['{"tool": "describe_project", "args": {}}'] * (max_steps + 1)) + "]}"
    )
    with pytest.raises(PlanInvalid, match=f"at most {max_steps} steps"):
        parse_plan(too_long, registry, session, max_steps=max_steps)
    plan = Plan(tuple(Step(step["tool"], {}) for _ in range(max_steps + 1)), None, "")
    turn = session.begin_turn("too long")
    with pytest.raises(PlanInvalid, match="over the limit"):
        asyncio.run(Executor(registry, config, models=None).run(plan, session, turn, lambda e: None))
    assert session.tool_runs(turn) == []  # nothing ran


def test_a_tool_that_ends_after_its_turn_was_cancelled_leaves_no_unread_error(caplog):
    """A barge-in cancels the turn while a tool still runs; when the tool then ends with its Cancelled nobody
    awaits it, and asyncio used to print "Future exception was never retrieved" over the voice loop's output."""
    import asyncio
    import gc
    import logging

    from assistant.errors import Cancelled
    from assistant.executor import ToolThread

    def tool():
        raise Cancelled("transcribe was interrupted", "nothing was written")

    async def main():
        worker = ToolThread("transcribe", tool, asyncio.get_running_loop())
        await asyncio.to_thread(worker.finished.wait, 5)
        await asyncio.sleep(0.05)  # the settle call reaches the loop
        assert isinstance(worker.future.exception(), Cancelled)  # still there for whoever awaits it

    async def abandoned():
        worker = ToolThread("transcribe", tool, asyncio.get_running_loop())
        await asyncio.to_thread(worker.finished.wait, 5)
        await asyncio.sleep(0.05)

    asyncio.run(main())
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        asyncio.run(abandoned())
        gc.collect()
    assert "never retrieved" not in caplog.text
