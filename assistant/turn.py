"""The only turn path, typed or spoken: plan → run → reply, and one way to stop it.

    reply = await TurnRunner.run(TurnRequest(text, "spoken"), TurnCancel(speaker), plan=…, say_feed=…)

1. **plan** — awaited when the caller already started it (the voice loop plans speculatively while
   the user is still speaking), else made here: the command path's templates when they parse the whole
   request (llm/commands/, milliseconds), else one grammar-constrained llama.cpp call (llm/planner.py);
   every attempt is recorded with its planner, an invalid plan is shown and nothing runs;
2. **run** — the steps in worker threads (executor.py), each recorded with its artifacts;
3. **reply** — composed from what the tools did (reply.py), recorded, emitted, and spoken through the
   turn's speaker when it has one (a plan without steps may already be speaking its `say`, streamed
   out of the planner by the voice loop).

`TurnCancel` is the turn's one stop: Esc, Ctrl+C, barge-in, a request that supersedes this one, and
quitting all call `stop(reason)`. It sets the event the planner and the tools poll, cuts the speaker
at once and cancels the task; the turn then records only what was heard and emits `Interrupted`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np

from .errors import Cancelled, EarshotError
from .events import ErrorEvent, Event, Interrupted, PlanReady, PlanRejected, Reply, TurnStarted, TurnTiming
from .executor import ExecutionReport, Executor
from .llm.planner import PlanOutcome
from .reply import acknowledgement, compose
from .runtime.greedy import GenerationCancelled
from .store.session import Session

# What a spoken turn says when its plan did not validate: the printed reply has the details.
SPOKEN_REJECTION = "I couldn't make a valid plan for that. Nothing was run; please rephrase it."


@dataclass(frozen=True)
class TurnRequest:
    text: str
    source: str = "typed"  # "typed" or "spoken"


@dataclass
class TurnClock:
    """Monotonic times of a turn's stages, filled in as they happen (see events.TurnTiming)."""

    last_voiced_s: float = 0.0
    paused_s: float | None = None
    endpoint_s: float = 0.0
    asr_started_s: float | None = None
    asr_done_s: float | None = None
    plan_started_s: float | None = None
    first_sentence_s: float | None = None
    plan_done_s: float | None = None
    first_audio_ready_s: float | None = None
    first_audio_queued_s: float | None = None
    first_audio_heard_s: float | None = None
    speculative: bool = False
    asr_from_partial: bool = False

    def timing(self) -> TurnTiming:
        """The event the latency benchmark reads (the same fields, in the same order)."""
        return TurnTiming(**asdict(self))


async def _first_audio_out(speaking: asyncio.Task | None, clock: TurnClock, timeout_s: float = 1.0) -> None:
    """Wait (at most `timeout_s`) until the turn's first sentence is heard. The tools start after it: on two
    cores DeepFilterNet started beside the acknowledgement's synthesis slowed it from ~50 ms to ~570 ms, and
    started once it was queued, it held its first sample back from the device by 470–690 ms (`earshot bench
    latency`, "Remove the noise from memo.wav."); that sentence is what the user waits for. Started once the
    speaker had taken the first block (`first_audio_heard_s` is then still the output latency ahead) it still
    did: audio out 330–710 ms on the two denoise commands of runs P–R against ~100 ms on the others. So the
    tools wait until the stream's clock says the first sample is out."""
    deadline = time.monotonic() + timeout_s
    while speaking is not None and not speaking.done() and time.monotonic() < deadline:
        heard = clock.first_audio_heard_s
        if heard is not None and time.monotonic() >= heard:
            return
        await asyncio.sleep(0.005)


SayFeed = AsyncIterator[tuple[str, np.ndarray]]  # (sentence, audio) as they are synthesised


class TurnSpeaker(Protocol):
    """What a turn needs of the voice that speaks its reply (voice/speaker.py is the one there is)."""

    interrupted: bool

    async def say(self, text: str, clock: TurnClock | None = None) -> str: ...

    async def speak(self, feed: SayFeed, clock: TurnClock | None = None) -> str: ...

    def stop(self) -> str: ...

    @property
    def played_any(self) -> bool: ...


class TurnCancel:
    """The one way to stop a turn, from any thread, any number of times.

    The planner and the tools poll `event` (llama.cpp stops mid-decode, a tool at its next progress
    report); `stop()` also silences the speaker at once and cancels the asyncio task running the turn,
    whose handler records what was heard and emits `Interrupted(reason)`."""

    def __init__(self, speaker: TurnSpeaker | None = None) -> None:
        self.event = threading.Event()
        self.speaker = speaker
        self.reason: str | None = None
        self._task: asyncio.Task | None = None

    def attach(self, task: asyncio.Task) -> asyncio.Task:
        """The task running the turn (a task created before the turn started)."""
        self._task = task
        if self.event.is_set() and not task.done():
            task.cancel()
        return task

    def stop(self, reason: str = "user") -> None:
        if self.reason is None:
            self.reason = reason
        self.event.set()
        if self.speaker is not None:
            self.speaker.stop()
        task = self._task
        if task is not None and not task.done():
            task.get_loop().call_soon_threadsafe(task.cancel)

    @property
    def task(self) -> asyncio.Task | None:
        return self._task

    @property
    def running(self) -> bool:
        """The turn's task exists and has not finished (nor is it being cancelled already)."""
        return self._task is not None and not self._task.done() and not self._task.cancelling()


class TurnRunner:
    """Runs turns against one session; one at a time per caller (the voice loop and the CLI ensure it)."""

    def __init__(
        self,
        session: Session,
        registry,
        executor: Executor,
        load_planner: Callable[[], object],
        emit: Callable[[Event], None],
        allowed_roots: tuple = (),
        fast_plan: Callable[[str], PlanOutcome | None] | None = None,
    ) -> None:
        self.session = session
        self.registry = registry
        self.executor = executor
        self.load_planner = load_planner
        self.emit = emit
        self.allowed_roots = allowed_roots
        self.fast_plan = fast_plan  # the command path: a plan without the LLM, or None

    async def run(
        self,
        request: TurnRequest,
        cancel: TurnCancel,
        *,
        plan: Awaitable[PlanOutcome] | None = None,
        say_feed: SayFeed | None = None,
        clock: TurnClock | None = None,
        on_recorded: Callable[[], None] | None = None,
        acknowledge: bool = True,
    ) -> Reply:
        """One turn. `plan`: a planning already under way; `say_feed`: its answer, already being synthesised
        sentence by sentence (spoken at once); `on_recorded`: called when the reply is in the history,
        before it is spoken (the voice loop evaluates the next turn's context while the reply plays);
        `acknowledge`: say what is being done while the tools run (when nothing streamed said it)."""
        clock = clock or TurnClock()
        speaker = cancel.speaker
        turn_id = self.session.begin_turn(request.text, request.source)
        self.emit(TurnStarted(turn_id, self.session.id, request.text, request.source))
        speaking: asyncio.Task | None = None
        spoke = False  # this turn put its reply on the speaker (else there is nothing it could have cut)
        said: list[str] = []  # what was heard of this turn's finished utterances (the acknowledgement)
        try:
            if speaker is not None and say_feed is not None:
                spoke = True
                speaking = asyncio.create_task(speaker.speak(say_feed, clock))
            outcome = await (plan if plan is not None else self._plan(request.text, cancel, clock))
            clock.plan_done_s = clock.plan_done_s or time.monotonic()
            if clock.first_sentence_s is None:
                clock.first_sentence_s = clock.plan_done_s
            validated = self._record_plan(outcome, turn_id)
            if validated is None:
                if speaking is not None:
                    speaking.cancel()
                last = outcome.attempts[-1]
                reply = self._finish(
                    turn_id,
                    "failed",
                    _rejected_text(last.error or "the plan did not validate"),
                    on_recorded=on_recorded,
                )
                if speaker is not None:
                    spoke = True
                    await speaker.say(SPOKEN_REJECTION, clock)
                return reply
            if validated.steps and speaker is not None and speaking is None and acknowledge:
                # Said at once, while the tools run: what is being done, to what ("Denoising memo.wav.").
                spoke = True
                ack = acknowledgement(validated.steps, self.registry, self.session)
                speaking = asyncio.create_task(speaker.say(ack, clock))
            if validated.steps:
                await _first_audio_out(speaking, clock)
            report = (
                await self.executor.run(validated, self.session, turn_id, self.emit, cancel.event)
                if validated.steps
                else ExecutionReport()
            )
            composed = compose(validated, report, self.registry)
            cancelled = report.failure is not None and report.failure.status == "cancelled"
            status = "ok" if report.ok else ("interrupted" if cancelled else "failed")
            reply = self._finish(turn_id, status, composed.text, [str(a.path) for a in report.artifacts], on_recorded)
            if speaker is not None:
                spoke = True
                heard = await self._speak(speaker, composed.spoken, speaking, bool(validated.steps), clock, said)
                if speaker.interrupted:
                    self.session.end_turn(turn_id, "interrupted", reply=heard or None, error="interrupted by the user")
            return reply
        except (asyncio.CancelledError, Cancelled):
            cancel.event.set()
            if speaking is not None and not speaking.done():
                speaking.cancel()
            cut = speaker.stop() if speaker is not None else ""
            # History keeps only what the user heard of this turn (the speaker's last reply may be an
            # earlier turn's): the planner's next prompt shows it.
            heard = " ".join([*said, cut]).strip() if spoke else ""
            self.session.end_turn(turn_id, "interrupted", reply=heard or None, error="interrupted by the user")
            self.emit(Interrupted(cancel.reason or "user", heard))
            raise
        except EarshotError as exc:
            self.session.end_turn(turn_id, "failed", error=str(exc))
            self.emit(ErrorEvent(exc.message, exc.hint))
            raise

    async def _plan(self, text: str, cancel: TurnCancel, clock: TurnClock) -> PlanOutcome:
        if self.fast_plan is not None:  # before the LLM is even loaded: a one-shot command never loads it
            clock.plan_started_s = time.monotonic()
            fast = await asyncio.to_thread(self.fast_plan, text)
            if fast is not None:
                return fast
        planner = await asyncio.to_thread(self.load_planner)
        clock.plan_started_s = time.monotonic()

        def plan() -> PlanOutcome:
            try:
                return planner.plan(text, self.session, self.allowed_roots, cancel=cancel.event)
            except GenerationCancelled as exc:  # stopped within one token (Esc, barge-in)
                raise Cancelled("interrupted while planning") from exc

        return await asyncio.to_thread(plan)

    async def _speak(
        self,
        speaker: TurnSpeaker,
        text: str,
        speaking: asyncio.Task | None,
        has_steps: bool,
        clock: TurnClock,
        said: list[str],
    ) -> str:
        """The reply aloud. An answer streamed out of the planner that played is the reply. After steps,
        the acknowledgement said while they ran finishes first, then the result is spoken. Otherwise (a
        repaired plan's answer is not streamed, nothing streamed) the composed reply is spoken."""
        if speaking is not None:
            heard = await speaking
            if not has_steps and speaker.played_any:
                return heard
            if has_steps and heard:
                said.append(heard)
        return " ".join([*said, await speaker.say(text, clock)]).strip()

    def _record_plan(self, outcome: PlanOutcome, turn_id: int):
        for i, attempt in enumerate(outcome.attempts, 1):
            self.session.record_plan(
                turn_id,
                i,
                attempt.raw,
                attempt.error is None,
                attempt.error,
                attempt.plan_ms,
                attempt.completion_tokens,
                outcome.planner,
            )
        if outcome.plan is None:
            last = outcome.attempts[-1]
            self.emit(PlanRejected(last.error or "invalid plan", last.raw))
            return None
        plan = outcome.plan
        self.emit(
            PlanReady(
                tuple({"tool": s.tool, "args": s.args} for s in plan.steps),
                plan.say,
                len(outcome.attempts),
                round(outcome.plan_ms, 1),
                outcome.completion_tokens,
                outcome.planner,
                outcome.prompt_tokens,
                outcome.evaluated_prompt_tokens,
            )
        )
        return plan

    def _finish(
        self,
        turn_id: int,
        status: str,
        text: str,
        artifacts: list[str] | None = None,
        on_recorded: Callable[[], None] | None = None,
    ) -> Reply:
        self.session.end_turn(turn_id, status, reply=text)
        reply = Reply(text, tuple(artifacts or ()), turn_id)
        self.emit(reply)
        if on_recorded is not None:
            on_recorded()
        return reply


def _rejected_text(rejection: str) -> str:
    """The reply to a request whose plan did not validate (typed and spoken turns alike)."""
    return (
        f"I couldn't make a valid plan for that: {rejection}. "
        "Nothing was run; please rephrase it (`earshot history` has the details)."
    )


def report(emit: Callable[[Event], None], exc: Exception) -> None:
    """An error outside a turn's own handling (a failed transcription, a crashed task): shown, never lost
    in a task nobody awaits."""
    if isinstance(exc, EarshotError):
        emit(ErrorEvent(exc.message, exc.hint))
        return
    import traceback

    traceback.print_exception(exc)
    emit(
        ErrorEvent(
            f"the turn failed with an internal error: {exc!r}", "this is a bug in Earshot; the traceback is on stderr"
        )
    )
