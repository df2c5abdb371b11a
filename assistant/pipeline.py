"""The turn, top to bottom: speech → text → plan → tools → reply. Start reading here.

    1. modality      asr.py (faster-whisper) turns an utterance into text; typed text skips it
    2+3. analysis    llm/planner.py: one grammar-constrained llama.cpp call → a validated plan
         and assignment   (llm/schema.py builds the grammar from audio_models/registry.py)
    4. response      executor.py runs the steps in worker threads (tools: audio_models/*.py),
                     reply.py composes the answer, tts.py speaks it sentence by sentence

Everything is recorded in session.py (SQLite): turns, plans, tool runs, artifacts. Stages talk
through the typed events of events.py; `emit` receives them (the CLI prints them, the TUI draws
them). Models load lazily, each on first need, so start-up stays fast.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable

import numpy as np

from .audio_models.registry import Registry, default_registry
from .config import EarshotConfig
from .errors import Cancelled, EarshotError
from .events import (ErrorEvent, Event, Interrupted, PlanReady, PlanRejected, Reply, ReplySentence, Transcript,
                     TurnStarted)
from .executor import ExecutionReport, Executor
from .models import ModelStore
from .reply import compose
from .session import Session


class Assistant:
    def __init__(self, config: EarshotConfig, session: Session, *, registry: Registry | None = None,
                 emit: Callable[[Event], None] = lambda e: None, speak: bool = True,
                 llm_name: str | None = None) -> None:
        self.config = config
        self.session = session
        self.registry = registry or default_registry()
        self.emit = emit
        self.speak = speak
        self.llm_name = llm_name
        self.models = ModelStore(config.paths)
        self.executor = Executor(self.registry, config, self.models)
        self._planner = None
        self._planner_lock = threading.Lock()
        self._cancel = threading.Event()
        self._player = None

    # -- lazily loaded stages ---------------------------------------------------------------
    @property
    def planner(self):
        with self._planner_lock:
            if self._planner is None:
                from .llm.planner import load_planner

                self._planner = load_planner(self.config, self.registry, self.llm_name)
                self._planner.warm()
            return self._planner

    def load(self) -> None:
        """Load what a typed turn needs (the planner) now instead of on the first request."""
        _ = self.planner

    # -- one turn ---------------------------------------------------------------------------
    async def handle_audio(self, audio_16k: np.ndarray) -> Reply:
        """A spoken turn: transcribe, then handle the text exactly as if it were typed."""
        from .asr import get_recognizer

        t0 = time.perf_counter()
        recognizer = await asyncio.to_thread(get_recognizer, self.models, self.config.models.asr)
        result = await asyncio.to_thread(recognizer.transcribe, audio_16k)
        self.emit(Transcript(result.text, result.language, result.duration_s,
                             round((time.perf_counter() - t0) * 1000, 1)))
        if not result.text.strip():
            reply = Reply("I didn't catch anything; please say it again.")
            self.emit(reply)
            return reply
        return await self.handle_text(result.text, source="spoken")

    async def handle_text(self, text: str, source: str = "typed") -> Reply:
        self._cancel.clear()
        turn_id = self.session.begin_turn(text, source)
        self.emit(TurnStarted(turn_id, self.session.id, text, source))
        try:
            plan, rejection = await self._plan(text, turn_id)
            if plan is None:
                return self._finish(turn_id, "failed", f"I couldn't make a valid plan for that: {rejection}. "
                                    "Nothing was run; please rephrase it (`earshot history` has the details).")
            report = await self.executor.run(plan, self.session, turn_id, self.emit, self._cancel) \
                if plan.steps else ExecutionReport()
            composed = compose(plan, report, self.registry)
            status = "ok" if report.ok else ("interrupted" if report.failure and
                                            report.failure.status == "cancelled" else "failed")
            reply = self._finish(turn_id, status, composed.text, [str(a.path) for a in report.artifacts])
            if self.speak:
                await self.say(composed.spoken)
            return reply
        except (asyncio.CancelledError, Cancelled):
            self.session.end_turn(turn_id, "interrupted", error="interrupted by the user")
            self.emit(Interrupted("user"))
            raise
        except EarshotError as exc:
            self.session.end_turn(turn_id, "failed", error=str(exc))
            self.emit(ErrorEvent(exc.message, exc.hint))
            raise

    async def _plan(self, text: str, turn_id: int):
        planner = await asyncio.to_thread(lambda: self.planner)
        outcome = await asyncio.to_thread(planner.plan, text, self.session, self.config.paths.allowed_roots)
        for i, attempt in enumerate(outcome.attempts, 1):
            self.session.record_plan(turn_id, i, attempt.raw, attempt.error is None, attempt.error,
                                     attempt.plan_ms, attempt.completion_tokens)
        if outcome.plan is None:
            last = outcome.attempts[-1]
            self.emit(PlanRejected(last.error or "invalid plan", last.raw))
            return None, last.error or "the plan did not validate"
        plan = outcome.plan
        self.emit(PlanReady(tuple({"tool": s.tool, "args": s.args} for s in plan.steps), plan.say,
                            len(outcome.attempts), round(outcome.plan_ms, 1), outcome.completion_tokens))
        return plan, None

    def _finish(self, turn_id: int, status: str, text: str, artifacts: list[str] | None = None) -> Reply:
        self.session.end_turn(turn_id, status, reply=text)
        reply = Reply(text, tuple(artifacts or ()), turn_id)
        self.emit(reply)
        return reply

    # -- speaking ---------------------------------------------------------------------------
    async def say(self, text: str) -> str:
        """Speak sentence by sentence: the next sentence is synthesised while this one plays.

        Returns what was actually heard (all of it unless interrupted)."""
        from .audio.io import Player
        from .tts import get_tts

        tts = await asyncio.to_thread(get_tts, self.models, self.config.models.tts)
        self._player = Player(self.config.speech.output_device)
        heard: list[str] = []
        queue: asyncio.Queue = asyncio.Queue(maxsize=2)

        async def produce():
            sentences = tts.stream(text)   # a generator: each next() synthesises one sentence
            i = 0
            while (item := await asyncio.to_thread(next, sentences, None)) is not None:
                await queue.put((i, *item))
                i += 1
            await queue.put(None)

        producer = asyncio.create_task(produce())
        try:
            while (item := await queue.get()) is not None:
                i, sentence, audio = item
                self.emit(ReplySentence(sentence, i))
                played = await asyncio.to_thread(self._player.play, audio, tts.sample_rate_hz)
                if not played:
                    break
                heard.append(sentence)
        except EarshotError as exc:
            # No speaker is not a failed turn: the reply was printed; say why it was not heard.
            self.emit(ErrorEvent(f"the reply was not spoken: {exc.message}", exc.hint))
        finally:
            producer.cancel()
        return " ".join(heard)

    def interrupt(self) -> None:
        """Barge-in or Ctrl+C: stop playback and any running tool at its next progress point."""
        self._cancel.set()
        if self._player is not None:
            self._player.stop()
