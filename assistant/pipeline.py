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
import sys
import threading
from collections.abc import Callable

from .audio_models.registry import Registry, default_registry
from .config import EarshotConfig, EndpointOptions
from .errors import EarshotError
from .events import Event, Reply
from .executor import Executor
from .llm.plan import Step
from .llm.say_stream import SayStream
from .reply import acknowledgement
from .runtime.models import ModelStore
from .store.session import Session
from .turn import TurnCancel, TurnRequest, TurnRunner
from .voice.speaker import Speaker

TURN_END = ("model", "rule", "model_and_rule")


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
        # Folders added to the sample library can be read (named in a request, found by `find`); outputs
        # still go to the workspace only.
        from .library.index import library_roots

        config.paths.allowed_roots = tuple(
            dict.fromkeys((*config.paths.allowed_roots, *library_roots(config.paths.library_path)))
        )
        self.config = config
        self.session = session
        self.registry = registry or default_registry()
        self.emit = emit
        self.llm_name = llm_name
        self.models = models or ModelStore(config.paths)
        self.executor = Executor(self.registry, config, self.models, load_llm=lambda: self.planner.llm)
        self.turns = TurnRunner(
            session,
            self.registry,
            self.executor,
            lambda: self.planner,
            self._emit,
            config.paths.allowed_roots,
            self.fast_plan,
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
                from .runtime.context_keeper import stop_keepers

                # A keeper a command-path turn started may still be evaluating this session's context: this
                # process evaluates faster without it beside it (runtime/context_keeper.py).
                stop_keepers(self.config.paths.cache_dir, self.session.id)
                self._planner = load_planner(self.config, self.registry, self.llm_name, self.models)
                self._planner.warm()
            return self._planner

    def _keep_context(self) -> None:
        """Save the session's next context for the next process; a failure costs that process only time."""
        try:
            self.streaming.keep(self.session)
        except Exception as exc:  # noqa: BLE001 - the turn is done and recorded; never fail it for this
            print(f"earshot: the session's context was not saved for the next request ({exc})", file=sys.stderr)

    def _keep_context_in_background(self) -> None:
        """After a command-path turn of a one-shot process: start the session's context keeper, when the
        planner's model is installed and states are kept (the next LLM request then evaluates only itself)."""
        from .runtime.context_keeper import background_allowed, start_keeper

        llm = self.config.llm
        name = self.llm_name or self.config.models.llm
        if llm.session_states <= 0 or not background_allowed(llm.keep_context_in_background):
            return
        if name not in self.models.manifest or not self.models.installed(name):
            return  # nothing to evaluate with (an unknown --llm is the planner's error to report, not this)
        start_keeper(self.config.paths.cache_dir, self.session.id, self.llm_name)

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

    def short_recognizer(self, engine: str = "whisper"):
        """The voice loop's recogniser (`transcribe_short`): Whisper, or Moonshine (`[voice.listen] asr_engine`)."""
        if engine == "moonshine":
            from .runtime.moonshine import get_moonshine

            return get_moonshine(self.models, self.config)
        if engine != "whisper":
            raise EarshotError(f"unknown asr_engine {engine!r}", 'use "whisper" or "moonshine" in [voice.listen]')
        return self.recognizer()

    def turn_end_model(self, endpoint: EndpointOptions):
        """Smart Turn (runtime/turn_end.py) when the endpoint uses it and it is installed, else None: the
        transcript rule decides alone."""
        from .runtime.turn_end import MODEL, get_turn_end_model

        if endpoint.turn_end not in TURN_END:
            raise EarshotError(f"unknown turn_end {endpoint.turn_end!r}", f"use one of {', '.join(TURN_END)}")
        if endpoint.turn_end == "rule" or not self.models.installed(MODEL):
            return None
        return get_turn_end_model(self.models, self.config, endpoint.turn_model_threads)

    def tts(self):
        from .runtime.tts import get_tts

        return get_tts(self.models, self.config.models.tts)

    def load(self) -> None:
        """Load what a typed turn needs (the command path's templates, the planner) now instead of on the
        first request."""
        if self.config.planner.command_path:
            from .llm.commands import command_path

            command_path(self.registry).warm()
        _ = self.planner

    def speaker(self, sink) -> Speaker:
        """The one voice, on `sink` (the live output stream, or a file)."""
        return Speaker(self.tts, sink, self._emit)

    def fast_plan(self, text: str):
        """The command path (llm/commands/): a validated plan for a request its templates parse whole,
        in milliseconds and without the LLM; None sends the request to the LLM."""
        if not self.config.planner.command_path:
            return None
        from .llm.commands import command_path

        return command_path(self.registry).plan(
            text, self.session, self.config.paths.allowed_roots, self.config.planner.max_steps
        )

    # -- for the voice loop: planning that streams its answer, and prefill between turns -------------
    async def plan_streamed(self, text: str, cancel: threading.Event, on_sentence: Callable[[str], None]):
        """Plan for the voice loop: the command path first (a template answer is handed out at once); else
        the LLM, whose spoken answer is handed out sentence by sentence while it is decoded. A work plan is
        acknowledged ("Denoising memo.wav.") the moment it exists — at once from the command path, as soon as
        its first step is decoded from the LLM — so the loop synthesises what to say before the turn ends."""
        fast = await asyncio.to_thread(self.fast_plan, text)
        if fast is not None:
            if fast.plan.say:  # a template answer is spoken at once, like a streamed one
                SayStream(on_sentence, self.config.voice.listen.first_clause_words).feed(fast.attempts[0].raw)
            else:
                on_sentence(acknowledgement(fast.plan.steps, self.registry, self.session))
            return fast
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
    async def ask(
        self, text: str, speaker: Speaker | None = None, plan: str | None = None, *, keep_context: bool = False
    ) -> Reply:
        """Run one typed request; `speaker` speaks the reply. Ctrl+C (the task cancelled) stops it as Esc does.
        `plan`: a plan's JSON to run instead of planning (`earshot ask --plan`), validated like any plan.
        `keep_context` (a one-shot process): once the reply is recorded, the session's next context is
        evaluated and saved on disk while the reply is spoken, so the next process evaluates only its request."""
        cancel = TurnCancel(speaker)
        cancel.attach(asyncio.current_task())
        given = None
        if plan is not None:
            from .llm.planner import given_plan

            outcome = given_plan(
                plan, self.registry, self.session, self.config.paths.allowed_roots, self.config.planner.max_steps
            )
            given = asyncio.get_running_loop().create_future()  # the turn's plan, already made
            given.set_result(outcome)
        keeping: list[asyncio.Task] = []

        def keep() -> None:
            # This process saves the context when the turn had the LLM loaded; after a command-path turn,
            # loading the model here would keep a one-shot process busy for seconds, so a detached keeper
            # does it (runtime/context_keeper.py).
            if self._planner is not None:
                keeping.append(asyncio.create_task(asyncio.to_thread(self._keep_context)))
            else:
                self._keep_context_in_background()

        try:
            return await self.turns.run(
                TurnRequest(text, "typed"), cancel, plan=given, on_recorded=keep if keep_context else None
            )
        finally:
            if keeping:
                await asyncio.gather(*keeping)
