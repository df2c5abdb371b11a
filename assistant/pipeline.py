"""The turn, top to bottom: speech → text → plan → tools → reply. Start reading here.

    1. modality      asr.py (faster-whisper) turns an utterance into text; typed text skips it
    2+3. analysis    llm/planner.py: one grammar-constrained llama.cpp call → a validated plan
         and assignment   (llm/schema.py builds the grammar from audio_models/registry.py)
    4. response      executor.py runs the steps in worker threads (tools: audio_models/*.py),
                     reply.py composes the answer, tts.py speaks it sentence by sentence

Everything is recorded in session.py (SQLite): turns, plans, tool runs, artifacts. Stages talk
through the typed events of events.py; `emit` receives them (the CLI prints them, the TUI draws
them). Models load lazily, each on first need, so start-up stays fast.

Spoken turns come from the voice loop (voice.py): it listens, endpoints and speculates, then calls
`spoken_turn` with a transcript and a plan that may already be under way; the reply is spoken by
`ReplyVoice` sentence by sentence through the loop's speaker, and barge-in cancels the turn and keeps
in the history only what was heard.
"""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable

import numpy as np

from .audio_models.registry import Registry, default_registry
from .config import EarshotConfig
from .errors import Cancelled, EarshotError
from .events import (AudioOut, ErrorEvent, Event, Interrupted, PlanReady, PlanRejected, PlaybackStarted,
                     PlaybackStopped, Reply, ReplySentence, Transcript, TurnStarted)
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
        # The voice loop's persistent speaker (audio/io.py Speaker or FileSink); None: one-shot Player.
        self.sink = None
        # Called when a turn's reply is recorded, before it is spoken: the voice loop evaluates the
        # next turn's context (this turn now in the history) while the reply plays, when the LLM is idle.
        self.on_reply_recorded: Callable[[], None] | None = None
        self.voice: ReplyVoice | None = None

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
                return self._finish(turn_id, "failed", _rejected_text(rejection))
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
        outcome = await asyncio.to_thread(self._plan_cancellable, planner, text)
        return self._record_plan(outcome, turn_id)

    def _plan_cancellable(self, planner, text: str):
        """`Planner.plan` that stops within one token when the turn is interrupted (Esc, Ctrl+C,
        barge-in set `_cancel`), instead of generating on in its thread after the turn has ended."""
        from .llm.greedy import GenerationCancelled

        try:
            return planner.plan(text, self.session, self.config.paths.allowed_roots, cancel=self._cancel)
        except GenerationCancelled as exc:
            raise Cancelled("interrupted while planning") from exc

    def _record_plan(self, outcome, turn_id: int):
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
        if self.on_reply_recorded is not None:
            self.on_reply_recorded()
        return reply

    # -- speaking ---------------------------------------------------------------------------
    async def say(self, text: str) -> str:
        """Speak sentence by sentence: the next sentence is synthesised while this one plays.

        Returns what was actually heard (all of it unless interrupted)."""
        if self.sink is not None:
            voice = await self.reply_voice()
            return await voice.speak(voice.feed_text(text))
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
            self._player.close()
        return " ".join(heard)

    async def reply_voice(self) -> "ReplyVoice":
        if self.voice is None:
            from .tts import get_tts

            tts = await asyncio.to_thread(get_tts, self.models, self.config.models.tts)
            self.voice = ReplyVoice(tts, self.sink, self.emit)
        self.voice.sink = self.sink
        return self.voice

    # -- a spoken turn (the voice loop) ---------------------------------------------------------
    async def spoken_turn(self, text: str, plan: Awaitable | None = None,
                          streamed_say: AsyncIterator[tuple[str, np.ndarray]] | None = None,
                          timing: "TurnClock | None" = None, whole_reply: bool = False) -> Reply:
        """Run a turn whose plan may already be under way (speculation) and whose answer may
        already be streaming out of the planner (`streamed_say`, for plans without steps).

        `plan` is awaited for the PlanOutcome; None plans here. `whole_reply` synthesises the
        whole answer before playing it (the naive baseline). Cancelling the task (barge-in)
        stops playback, records the turn as interrupted with only what was heard, and emits
        `Interrupted` with that text."""
        self._cancel.clear()
        timing = timing or TurnClock()
        turn_id = self.session.begin_turn(text, "spoken")
        self.emit(TurnStarted(turn_id, self.session.id, text, "spoken"))
        voice = await self.reply_voice() if (self.speak and self.sink is not None) else None
        speaking: asyncio.Task | None = None
        heard = ""
        try:
            if voice is not None and streamed_say is not None:
                speaking = asyncio.create_task(voice.speak(streamed_say, timing))
            if plan is None:
                planner = await asyncio.to_thread(lambda: self.planner)
                timing.plan_started_s = time.monotonic()
                plan = asyncio.to_thread(self._plan_cancellable, planner, text)
            outcome = await plan
            timing.plan_done_s = timing.plan_done_s or time.monotonic()
            if timing.first_sentence_s is None:
                timing.first_sentence_s = timing.plan_done_s
            validated, rejection = self._record_plan(outcome, turn_id)
            if validated is None:
                if speaking is not None:
                    speaking.cancel()
                # The same reply as a typed turn (`ask`); spoken without the validation details.
                reply = self._finish(turn_id, "failed", _rejected_text(rejection))
                if voice is not None:
                    await voice.speak(voice.feed_text("I couldn't make a valid plan for that. Nothing was run; "
                                                      "please rephrase it."), timing)
                return reply
            report = await self.executor.run(validated, self.session, turn_id, self.emit, self._cancel) \
                if validated.steps else ExecutionReport()
            composed = compose(validated, report, self.registry)
            status = "ok" if report.ok else ("interrupted" if report.failure and
                                            report.failure.status == "cancelled" else "failed")
            reply = self._finish(turn_id, status, composed.text, [str(a.path) for a in report.artifacts])
            if voice is not None:
                streamed = False
                if speaking is not None and not validated.steps:
                    heard = await speaking
                    # Nothing streamed (a repaired plan's answer is not streamed; a planner that does not
                    # stream): the answer is spoken whole, like any reply.
                    streamed = voice.played_any
                elif speaking is not None:
                    speaking.cancel()
                if not streamed:
                    feed = voice.feed_whole(composed.spoken) if whole_reply else voice.feed_text(composed.spoken)
                    heard = await voice.speak(feed, timing)
                if voice.interrupted:
                    self.session.end_turn(turn_id, "interrupted", reply=heard or None, error="interrupted by the user")
            return reply
        except (asyncio.CancelledError, Cancelled):
            self._cancel.set()
            if speaking is not None and not speaking.done():
                speaking.cancel()
            heard = voice.stop_now() if voice is not None else ""
            # History keeps only what the user heard: the planner's next prompt shows this reply.
            self.session.end_turn(turn_id, "interrupted", reply=heard or None, error="interrupted by the user")
            self.emit(Interrupted("barge-in", heard))
            raise
        except EarshotError as exc:
            self.session.end_turn(turn_id, "failed", error=str(exc))
            self.emit(ErrorEvent(exc.message, exc.hint))
            raise

    def interrupt(self) -> None:
        """Barge-in or Ctrl+C: stop playback and any running tool at its next progress point."""
        self._cancel.set()
        if self._player is not None:
            self._player.stop()
        if self.voice is not None:
            self.voice.stop_now()


def _rejected_text(rejection: str) -> str:
    """The reply to a request whose plan did not validate (typed and spoken turns alike)."""
    return (f"I couldn't make a valid plan for that: {rejection}. "
            "Nothing was run; please rephrase it (`earshot history` has the details).")


@dataclass
class TurnClock:
    """Monotonic times of a spoken turn's stages (filled in as they happen; see events.TurnTiming)."""
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


class ReplyVoice:
    """Speaks a reply through a persistent sink, sentence by sentence, as the sentences arrive.

    Sentences are synthesised one ahead of playback and queued back to back on the speaker, so
    there is no gap between them; `stop_now()` cuts the speaker at once and says what was heard
    (whole sentences played, plus the words of the cut one in proportion to how much of it
    played)."""

    def __init__(self, tts, sink, emit: Callable[[Event], None]) -> None:
        self.tts = tts
        self.sink = sink
        self.emit = emit
        self._playing: list[tuple[str, object]] = []      # (sentence, Playback)
        self.interrupted = False
        self.spoken_log: list[tuple[float, float, str]] = []   # (start, end, text) of what was played

    async def feed_text(self, text: str) -> AsyncIterator[tuple[str, np.ndarray]]:
        """(sentence, audio) for a known text, synthesising each sentence when asked for it."""
        sentences = await asyncio.to_thread(self.tts.sentences, text)
        for sentence in sentences:
            audio = await asyncio.to_thread(self.tts.synthesize, sentence)
            if audio.size:
                yield sentence, audio

    async def feed_whole(self, text: str) -> AsyncIterator[tuple[str, np.ndarray]]:
        """The whole text synthesised before anything plays (the naive baseline's reply)."""
        audio = await asyncio.to_thread(self.tts.synthesize, text)
        if audio.size:
            yield text, audio

    async def speak(self, feed: AsyncIterator[tuple[str, np.ndarray]], timing: TurnClock | None = None) -> str:
        self._playing = []
        self.interrupted = False
        loop = asyncio.get_running_loop()
        index = 0
        try:
            async for sentence, audio in feed:
                if timing is not None and timing.first_audio_ready_s is None:
                    timing.first_audio_ready_s = time.monotonic()
                self.emit(ReplySentence(sentence, index))
                self.emit(AudioOut(audio, self.tts.sample_rate_hz, index))
                pb = self.sink.play(audio, self.tts.sample_rate_hz, tag=index)
                if timing is not None and timing.first_audio_queued_s is None:
                    timing.first_audio_queued_s = time.monotonic()
                self._playing.append((sentence, pb))
                if index == 0:
                    loop.create_task(self._report_start(pb, index, timing))
                index += 1
            for _, pb in self._playing:
                await asyncio.to_thread(pb.done.wait)
        except asyncio.CancelledError:
            self.stop_now()
            raise
        finally:
            self._log_spoken()
        stopped = any(pb.stopped for _, pb in self._playing)
        heard = self._heard()
        if stopped:
            self.interrupted = True
        if self._playing:
            self.emit(PlaybackStopped("barge_in" if stopped else "finished", time.monotonic(), heard))
        return heard

    async def _report_start(self, pb, index: int, timing: TurnClock | None) -> None:
        while pb.started_at_s is None and not pb.done.is_set():
            await asyncio.sleep(0.005)
        if pb.started_at_s is not None:
            if timing is not None and timing.first_audio_heard_s is None:
                timing.first_audio_heard_s = pb.started_at_s
            self.emit(PlaybackStarted(pb.started_at_s, index))

    def _heard(self) -> str:
        words: list[str] = []
        for sentence, pb in self._playing:
            if pb.started_at_s is None and pb.played_samples == 0:
                break
            if not pb.stopped or pb.fraction_played >= 0.999:
                words.append(sentence)
                continue
            parts = sentence.split()
            keep = int(len(parts) * pb.fraction_played)
            if keep:
                words.append(" ".join(parts[:keep]) + " …")
            break
        return " ".join(words)

    def _log_spoken(self) -> None:
        now = time.monotonic()
        for sentence, pb in self._playing:
            if pb.started_at_s is not None and not getattr(pb, "_logged", False):
                end = pb.started_at_s + pb.played_samples / pb.sample_rate_hz
                self.spoken_log.append((pb.started_at_s, min(end, now + 1.0), sentence))
                pb._logged = True
        self.spoken_log = [x for x in self.spoken_log if x[1] > now - 30.0]

    def recently_spoken(self, around_s: float, margin_s: float = 1.0, tail_s: float = 0.5) -> str:
        """What the speaker played between `around_s` − a few seconds and `around_s` + margin: the
        text an echo heard at `around_s` could be made of. Empty when nothing was playing at
        `around_s` (give or take `tail_s` of room reverberation): speech that began after the reply
        ended is the user's, however much it sounds like the reply ("Who made you?" after "How are
        you?" was once dropped as our own voice)."""
        self._log_spoken()
        if not any(start <= around_s + margin_s and end >= around_s - tail_s for start, end, _ in self.spoken_log):
            return ""
        return " ".join(t for start, end, t in self.spoken_log if end >= around_s - margin_s - 6.0
                        and start <= around_s + margin_s)

    @property
    def played_any(self) -> bool:
        """Did the last `speak()` put anything on the speaker?"""
        return bool(self._playing)

    def stop_now(self) -> str:
        """Cut playback (barge-in); returns what the user heard of this reply."""
        if not self._playing:
            return ""
        self.sink.stop()
        self.interrupted = True
        return self._heard()
