"""Earshot, top to bottom: where each stage of a turn lives, and `Assistant`, which assembles them.

    1. modality      runtime/asr.py (faster-whisper) turns speech into text; typed text skips it.
                     The voice loop (voice/loop.py) listens, endpoints and speculates.
    2+3. analysis    llm/planner.py: one grammar-constrained llama.cpp call (runtime/llm.py) → a plan,
         assignment  validated by llm/plan.py against the tools of audio_models/registry.py
    4. response      turn.py runs the turn — the only turn path, typed or spoken: executor.py runs the
                     steps (one tool per file in audio_models/, DSP in synth/ music/ vision/, the studio
                     project in project/), reply.py composes the answer, voice/speaker.py speaks it.

Everything is recorded in store/session.py (SQLite): turns, plans, tool runs, artifacts. Stages talk
through the typed events of events.py; `emit` receives them (cli/ prints them, ui/ draws them).
Models load lazily from the sha256-pinned store (runtime/models.py), each on first need.

    ui/ · cli/ · bench/   →  pipeline.py  →  voice/  →  turn.py  →  llm/ · audio_models/ · project/
         →  runtime/ · store/ · audio/  →  config.py · events.py · errors.py

(the import-linter contracts in pyproject.toml keep the arrows pointing that way).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from .audio_models.registry import Registry, default_registry
from .config import EarshotConfig
from .events import Event, Reply
from .executor import Executor
from .llm.plan import Step
from .reply import acknowledgement
from .runtime.models import ModelStore
from .store.session import Session
from .turn import TurnCancel, TurnRequest, TurnRunner
from .voice.speaker import Speaker


class Assistant:
    """The models, tools and turn runner of one session, built once and shared by the CLI, the TUI and
    the voice loop. Nothing is loaded until it is needed."""

    def __init__(
        self,
        config: EarshotConfig,
        session: Session,
        *,
        registry: Registry | None = None,
        emit: Callable[[Event], None] = lambda e: None,
        llm_name: str | None = None,
        models: ModelStore | None = None,
    ) -> None:
        self.config = config
        self.session = session
        self.registry = registry or default_registry()
        self.emit = emit
        self.llm_name = llm_name
        self.models = models or ModelStore(config.paths)
        self.executor = Executor(self.registry, config, self.models, load_llm=lambda: self.planner.llm)
        self.turns = TurnRunner(
            session, self.registry, self.executor, lambda: self.planner, self._emit, config.paths.allowed_roots
        )
        self._planner = None
        self._streaming = None
        self._lock = threading.Lock()

    def _emit(self, event: Event) -> None:
        self.emit(event)  # late-bound: a UI may set `emit` after building the Assistant

    # -- models, each loaded on first need ------------------------------------------------------------
    @property
    def planner(self):
        with self._lock:  # the loading worker and the first request may race to build it
            if self._planner is None:
                from .llm.planner import load_planner

                self._planner = load_planner(self.config, self.registry, self.llm_name, self.models)
                self._planner.warm()
            return self._planner

    @property
    def streaming(self):
        """The planner as the voice loop uses it: prefill ahead, stream a spoken answer (llm/streaming.py)."""
        if self._streaming is None:
            from .llm.streaming import StreamingPlanner

            self._streaming = StreamingPlanner(self.planner)
        return self._streaming

    def recognizer(self):
        from .runtime.asr import get_recognizer

        return get_recognizer(self.models, self.config.models.asr, self.config.accelerator.whisper_device)

    def tts(self):
        from .runtime.tts import get_tts

        return get_tts(self.models, self.config.models.tts)

    def load(self) -> None:
        """Load what a typed turn needs (the planner) now instead of on the first request."""
        _ = self.planner

    def speaker(self, sink) -> Speaker:
        """The one voice, on `sink` (the live output stream, or a file)."""
        return Speaker(self.tts, sink, self._emit)

    # -- for the voice loop: planning that streams its answer, and prefill between turns -------------
    async def plan_streamed(self, text: str, cancel: threading.Event, on_sentence: Callable[[str], None]):
        """Plan for the voice loop: a spoken answer is handed out sentence by sentence while it is decoded,
        and a work plan is acknowledged ("Denoising memo.wav.") as soon as its first step is decoded, so the
        loop synthesises what to say before the user's turn has even ended."""
        planner = await asyncio.to_thread(lambda: self.planner)
        acknowledged = []

        def on_first_step(step: dict) -> None:
            if step.get("tool") in self.registry:
                acknowledged.append(Step(step["tool"], dict(step.get("args") or {})))
                on_sentence(acknowledgement(acknowledged, self.registry, self.session))

        outcome = await asyncio.to_thread(
            planner.plan,
            text,
            self.session,
            self.config.paths.allowed_roots,
            cancel=cancel,
            on_say_sentence=on_sentence,
            first_clause_words=self.config.voice.listen.first_clause_words,
            on_first_step=on_first_step,
        )
        if outcome.plan is not None and outcome.plan.steps and not acknowledged:
            on_sentence(acknowledgement(outcome.plan.steps, self.registry, self.session))
        return outcome

    async def prefill(self, words: str | None, cancel: threading.Event | None) -> None:
        """Evaluate into the LLM's KV cache the next turn's context (`words` None) or the words of a
        partial transcript; skipped when the model is busy with a real turn."""
        sp = await asyncio.to_thread(lambda: self.streaming)
        prefix = (
            await asyncio.to_thread(sp.partial_prefix, words, self.session)
            if words is not None
            else await asyncio.to_thread(sp.context_prefix, self.session)
        )
        await asyncio.to_thread(sp.prefill, prefix, cancel)

    # -- one typed turn (the CLI) -------------------------------------------------------------------
    async def ask(self, text: str, speaker: Speaker | None = None, *, keep_context: bool = False) -> Reply:
        """Run one typed request; `speaker` speaks the reply. Ctrl+C (the task cancelled) stops it as Esc does.
        `keep_context` (a one-shot process): once the reply is recorded, the session's next context is
        evaluated and saved on disk while the reply is spoken, so the next process evaluates only its request."""
        cancel = TurnCancel(speaker)
        cancel.attach(asyncio.current_task())
        keeping: list[asyncio.Task] = []

        def keep() -> None:
            keeping.append(asyncio.create_task(asyncio.to_thread(self.streaming.keep, self.session)))

        try:
            return await self.turns.run(TurnRequest(text, "typed"), cancel, on_recorded=keep if keep_context else None)
        finally:
            if keeping:
                await asyncio.gather(*keeping)
