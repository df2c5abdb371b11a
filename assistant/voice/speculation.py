"""Working ahead of the endpoint: transcript → plan → first synthesised sentences, while the user may
still be speaking, all of it thrown away if they go on.

- While the user speaks, a partial transcript every `partial_interval_ms` (the fast short-window ASR);
  its words are evaluated into the LLM's KV cache, and a partial that already looks like a finished
  request starts the planner on it (`_partial`).
- At the first silent frame the final ASR starts on the audio so far, and the planner on its
  transcript — unless the partial's plan was for the same words, which the speculation then adopts.
- Speech again cancels both; the endpoint hands the speculation to the turn (`take`).
- Between turns the per-turn context (files, recent turns, "Request:") is evaluated ahead (`prefill_context`).

Whether a pause ends the turn is `completion()`: by default Smart Turn (runtime/turn_end.py) on the audio of the
utterance, started at the same first silent frame as the ASR, and the transcript rule (audio/segmenter.py
`transcript_looks_complete`) on the pause's transcript must both say "finished" (`[voice.endpoint] turn_end`:
"model_and_rule", or "model" or "rule" alone); the rule alone is what runs when the model is not installed or
fails. A transcript the command path took whole as a command needs less of the model's confidence
(`turn_model_min_probability_command`).

Sentences of a streamed `say` are synthesised as they come out of the planner and queued; `feed()`
yields them to the speaker once the turn is committed (they keep coming while the plan is generated).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import numpy as np

from ..audio.segmenter import transcript_looks_complete
from ..audio.vad import FRAME_SAMPLES, level_dbfs
from ..config import EndpointOptions, ListenOptions
from ..errors import EarshotError
from ..events import Event, PartialTranscript, SpeculationCancelled
from ..runtime.asr import PassAbandoned
from ..runtime.compute_gate import in_foreground
from ..turn import TurnClock
from .gates import norm
from .tail import TailTranscriber

Transcribe = Callable[[np.ndarray], Awaitable[object]]  # audio → ShortResult
JudgeTurn = Callable[[np.ndarray], Awaitable[object]]  # audio → TurnEndResult (its `probability` of "finished")
PlanFn = Callable[[str, threading.Event, Callable[[str], None]], Awaitable[object]]  # → PlanOutcome


def fast_transcriber(assistant, options: ListenOptions, wake_mode: Callable[[], bool]) -> Transcribe:
    """The loop's ASR: the fast short-window Whisper pass (runtime/asr.py), with the CPU to itself — the
    transcript decides when the turn ends, so LLM work waits meanwhile (runtime/compute_gate.py). In
    wake mode the phrase biases the decoder (or `hotwords`: "Stop." for a short sound over the reply)."""

    async def transcribe(
        audio: np.ndarray,
        known: tuple[int, str] | None = None,
        hotwords: str | None = None,
        proceed: Callable[[], bool] | None = None,
    ):
        rec = await asyncio.to_thread(assistant.short_recognizer, options.asr_engine)
        hot = hotwords or (options.wake_phrase if wake_mode() else None)
        if known is not None:  # the final pass from the tail: (samples the last partial covered, its text)
            tail = TailTranscriber(rec.transcribe_short, options.asr_min_window_s)
            return await asyncio.to_thread(
                in_foreground, tail, audio, known_samples=known[0], known_text=known[1], hotwords=hot
            )
        return await asyncio.to_thread(
            in_foreground,
            rec.transcribe_short,
            audio,
            min_window_s=options.asr_min_window_s,
            hotwords=hot,
            proceed=proceed,
        )

    return transcribe


def turn_judge(assistant, endpoint: EndpointOptions) -> JudgeTurn | None:
    """The turn-end model as the loop calls it (off the event loop, with the CPU before LLM work), or None
    when the endpoint uses the transcript rule alone (by choice, or because the model is not installed)."""
    model = assistant.turn_end_model(endpoint)
    if model is None:
        return None

    async def judge(audio: np.ndarray):
        return await asyncio.to_thread(in_foreground, model.probability, audio)

    return judge


def _levels_db(audio: np.ndarray) -> np.ndarray:
    """The level (dBFS) of each VAD frame of `audio`."""
    return np.array([level_dbfs(audio[i : i + FRAME_SAMPLES]) for i in range(0, len(audio), FRAME_SAMPLES)])


class Speculation:
    """One transcript → plan → sentences chain, cancellable at any point."""

    def __init__(self, audio: np.ndarray | None, text: str | None, clock: TurnClock) -> None:
        self.audio = audio
        self.clock = clock
        self.cancel_event = threading.Event()
        self.text: str | None = text
        self.asr_result = None
        self.asr_task: asyncio.Task | None = None
        self.plan_task: asyncio.Task | None = None
        self.plan_text: str | None = None
        self.turn_task: asyncio.Task | None = None  # the turn-end model on this pause's audio
        self.turn_probability: float | None = None
        self._sentences: asyncio.Queue = asyncio.Queue()
        self._synth_task: asyncio.Task | None = None
        self.cancelled = False

    def start_asr(
        self, transcribe: Transcribe, known: tuple[int, str] | None = None, read: asyncio.Task | None = None
    ) -> None:
        """Transcribe the audio; `known`: what the last partial heard (the final pass reads only the tail);
        `read`: a partial pass that already read all the speech in it, whose transcript is taken instead."""
        self.clock.asr_started_s = time.monotonic()
        self.clock.asr_from_partial = read is not None

        async def asr():
            result = None
            if read is not None:
                try:  # shielded: cancelling this speculation must not cancel the partial's own work
                    result = await asyncio.shield(read)
                except Exception:  # noqa: BLE001 - the partial's failure is reported by the partial
                    self.clock.asr_from_partial = False
            if result is None:
                try:  # speech again (this speculation cancelled): the pass stops after its encoder if it still can
                    result = await (
                        transcribe(self.audio, proceed=lambda: not self.cancel_event.is_set())
                        if known is None
                        else transcribe(self.audio, known=known)
                    )
                except PassAbandoned:
                    raise asyncio.CancelledError from None
            self.asr_result, self.text = result, result.text
            self.clock.asr_done_s = time.monotonic()
            return result

        self.asr_task = asyncio.create_task(asr())

    def start_turn_judge(self, judge: JudgeTurn) -> None:
        async def run():
            self.turn_probability = float((await judge(self.audio)).probability)

        self.turn_task = asyncio.create_task(run())

    def start_plan(self, text: str, plan: PlanFn, speaker) -> None:
        """Plan `text`; with a speaker, synthesise the sentences of a streamed `say` as they come."""
        if self.plan_task is not None:
            return
        self.plan_text = text
        self.clock.plan_started_s = time.monotonic()
        aloop = asyncio.get_running_loop()
        raw: asyncio.Queue = asyncio.Queue()

        def on_sentence(sentence: str) -> None:
            aloop.call_soon_threadsafe(raw.put_nowait, sentence)

        async def run_plan():
            try:
                return await plan(text, self.cancel_event, on_sentence)
            finally:
                aloop.call_soon_threadsafe(raw.put_nowait, None)
                self.clock.plan_done_s = time.monotonic()

        self.plan_task = asyncio.create_task(run_plan())
        if speaker is not None:
            self._synth_task = asyncio.create_task(self._synthesise(raw, speaker))

    async def _synthesise(self, raw: asyncio.Queue, speaker) -> None:
        tts = await speaker.tts()
        try:
            while (sentence := await raw.get()) is not None:
                if self.clock.first_sentence_s is None:
                    self.clock.first_sentence_s = time.monotonic()
                    audio = await speaker.synthesize_first(sentence)
                else:
                    audio = await asyncio.to_thread(tts.synthesize, sentence)
                if audio.size:
                    await self._sentences.put((sentence, audio))
        finally:
            await self._sentences.put(None)

    def adopt(self, other: Speculation) -> None:
        """Take over `other`'s plan (made on a partial with the same words): its tasks, its sentence queue,
        its stage times; stage times still to come land on this clock."""
        self.plan_task, self._synth_task, self._sentences = other.plan_task, other._synth_task, other._sentences
        self.cancel_event, self.plan_text = other.cancel_event, other.plan_text
        self.clock.plan_started_s = other.clock.plan_started_s
        self.clock.first_sentence_s = other.clock.first_sentence_s
        self.clock.plan_done_s = other.clock.plan_done_s
        other.clock = self.clock

    async def feed(self):
        while (item := await self._sentences.get()) is not None:
            yield item

    @property
    def streams_say(self) -> bool:
        return self._synth_task is not None

    def cancel(self) -> None:
        self.cancelled = True
        self.cancel_event.set()
        for task in (self.asr_task, self.turn_task, self.plan_task, self._synth_task):
            if task is not None and not task.done():
                task.cancel()


class PartialPass(NamedTuple):
    samples: int  # how much of the utterance it reads
    task: asyncio.Task  # its transcription
    abandoned: threading.Event  # set when the pause no longer needs it (it stops after its encoder)


class Speculator:
    """The loop's speculation state: the pause's speculation, the partial's, the partial ASR task."""

    def __init__(
        self,
        options: ListenOptions,
        transcribe: Transcribe,
        plan: PlanFn,
        prefill: Callable[[str | None, threading.Event | None], Awaitable[None]],
        speaker,
        emit: Callable[[Event], None],
        on_transcript: Callable[[str, bool], object],
        judge: JudgeTurn | None = None,
        endpoint: EndpointOptions | None = None,
        undecided: Callable[[], bool] = lambda: False,
    ) -> None:
        self.options = options
        self.judge = judge  # the turn-end model, or None: the transcript rule decides
        self.endpoint = endpoint or EndpointOptions()
        self.transcribe = transcribe
        self.plan = plan
        self.prefill = prefill  # (partial words or None for the context, cancel)
        self.speaker = speaker  # synthesises a streamed say ahead; None: nothing is spoken
        self.emit = emit
        self.on_transcript = on_transcript  # (text, final): the barge-in hears every transcript
        # Speech over the reply that may still be our own voice: nothing is planned on its words.
        self.undecided = undecided
        self.pause: Speculation | None = None  # started at the first silent frame
        self._partial: Speculation | None = None  # planning on a complete-looking partial
        self._partial_task: asyncio.Task | None = None
        self._partial_read: PartialPass | None = None  # the latest partial pass
        self._next_partial_samples = 0
        self._known: tuple[int, str] | None = None  # the last partial: (samples it read, its text)
        # Called when a task of the pause's speculation finishes (its transcript, the turn-end model, the plan):
        # the loop asks the segmenter at once whether the turn is over, not at the next frame.
        self.on_ready: Callable[[], None] | None = None

    def on_onset(self) -> None:
        self._next_partial_samples = int(self.options.partial_interval_ms * 16)
        self._known = None
        self._partial_read = None

    def on_speech(self, audio: np.ndarray, hearing: Callable[[], bool], planning: bool) -> None:
        """Another frame of speech (`audio`: the utterance so far): maybe a partial transcript. `hearing`
        says later whether the utterance is still going on; `planning` whether a partial may start a plan."""
        if len(audio) < self._next_partial_samples:
            return
        if self._partial_task is not None and not self._partial_task.done():
            return
        if self.pause is not None and self.pause.asr_task is not None and not self.pause.asr_task.done():
            return
        self._next_partial_samples = len(audio) + int(self.options.partial_interval_ms * 16)
        abandoned = threading.Event()
        read = asyncio.create_task(self.transcribe(audio, proceed=lambda: not abandoned.is_set()))
        self._partial_read = PartialPass(len(audio), read, abandoned)
        self._partial_task = asyncio.create_task(self._run_partial(audio, read, hearing, planning))

    async def _run_partial(
        self, audio: np.ndarray, read: asyncio.Task, hearing: Callable[[], bool], planning: bool
    ) -> None:
        try:
            result = await read
        except PassAbandoned:  # the pause came and does not need it: no transcript (not even an empty one)
            return
        if not hearing():
            return
        self._known = (len(audio), result.text) if result.text else None
        self.on_transcript(result.text, False)
        if not result.text:
            return
        self.emit(PartialTranscript(result.text, round(len(audio) / 16000, 2), result.elapsed_ms))
        if not planning or self.undecided():
            return
        await self.prefill(result.text, threading.Event())  # the words so far, into the KV cache
        if not self.options.speculate_on_partials or not transcript_looks_complete(result.text) or not hearing():
            return
        current = self._partial
        if current is not None and current.plan_text is not None and norm(current.plan_text) == norm(result.text):
            return
        if current is not None:
            current.cancel()
        self._partial = Speculation(None, result.text, TurnClock(speculative=True))
        self._partial.start_plan(result.text, self.plan, self.speaker)

    def on_pause(
        self, audio: np.ndarray, at_s: float, last_voiced_s: float, planning: bool, accept: Callable[[object], bool]
    ) -> None:
        """The first silent frame: the final ASR on the audio so far, then (when `accept`s the
        transcript and `planning`) the plan."""
        if self.pause is not None:
            self.pause.cancel()
        spec = Speculation(audio, None, TurnClock(last_voiced_s=last_voiced_s, paused_s=at_s, speculative=True))
        self.pause = spec
        read = self._read_all_of(audio)
        if read is None:
            self._abandon_partial()
        spec.start_asr(self.transcribe, self._known if self.options.final_asr_from_tail else None, read)
        if self.judge is not None:
            spec.start_turn_judge(self.judge)

        def ready(_task: asyncio.Task) -> None:
            if self.pause is spec and not spec.cancelled and self.on_ready is not None:
                self.on_ready()

        for task in (spec.asr_task, spec.turn_task):
            if task is not None:
                task.add_done_callback(ready)

        async def then_plan():
            try:
                result = await spec.asr_task
            except asyncio.CancelledError:
                return
            if not spec.cancelled:
                self.on_transcript(result.text, False)
            if not spec.cancelled and planning and accept(result) and not self.undecided():
                self.ensure_plan(spec, result.text)
                if spec.plan_task is not None:  # a command path's plan lowers the turn-end model's bar
                    spec.plan_task.add_done_callback(ready)

        asyncio.create_task(then_plan())

    def _read_all_of(self, audio: np.ndarray) -> asyncio.Task | None:
        """The latest partial pass (running or done) when it read all the speech in `audio` (the pause's): at
        most `final_from_partial_unread_ms` were after it, and quiet — silero calls the first frames after a
        word's end voiced (~130 ms), so those are its fading tail. A partial running at the pause held the
        final pass up for its remaining ~200 ms (the recogniser reads one utterance at a time). Its transcript
        stands for the final pass's: by words the same in 28 of 31 such pauses of four traced bench runs (of
        the others, one partial read worse, one better, one was noise). None: the final pass reads the audio."""
        if self._partial_read is None or not self.options.final_from_partial_unread_ms:
            return None
        samples, read = self._partial_read.samples, self._partial_read.task
        if len(audio) - samples > self.options.final_from_partial_unread_ms * 16 or (read.done() and read.cancelled()):
            return None
        levels = _levels_db(audio)  # once: the unread frames are its last ones (the audio is whole frames)
        unread = levels[samples // FRAME_SAMPLES :]
        if unread.size and unread.max() > np.percentile(levels, 90) - self.options.final_from_partial_quiet_db:
            return None
        return read

    def _abandon_partial(self) -> None:
        """The pause's final pass reads the audio itself: a partial pass still running would only hold it up (the
        recogniser reads one utterance at a time; a pass of a traced commands run still had 100–530 ms to go at
        12 of 27 pauses). It stops after its encoder if it is still there; its decoder, once running, cannot be
        stopped."""
        if self._partial_read is not None and not self._partial_read.task.done():
            self._partial_read.abandoned.set()

    def on_resume(self) -> None:
        """Speech again: the pause's work is thrown away."""
        if self.pause is not None:
            self.emit(SpeculationCancelled("user kept talking", self.pause.text or ""))
            self.pause.cancel()
            self.pause = None

    def completion(self) -> bool | None:
        """For the segmenter at min_silence_ms: is the turn finished (None: not known yet, ask again)? The
        turn-end model's answer on the pause's audio, and/or the rule on the pause's transcript
        (`[voice.endpoint] turn_end`); the rule alone when there is no model or it failed."""
        spec = self.pause
        if spec is None:
            return True if not self.options.speculate else None
        task = spec.turn_task
        if task is not None and not (task.done() and (task.cancelled() or task.exception() is not None)):
            if spec.turn_probability is None:
                return None
            finished = spec.turn_probability >= self._turn_model_bar(spec)
            if self.endpoint.turn_end != "model_and_rule" or not finished:
                return finished
        if spec.text is None:
            return None
        return transcript_looks_complete(spec.text)

    def _turn_model_bar(self, spec: Speculation) -> float:
        """Smart Turn's probability that ends the turn: lower once the command path has taken the pause's whole
        transcript as a command (every word consumed, every argument bound) — a complete request by its words,
        which the model heard as unfinished now and then ("Undo that."). Only where the transcript rule must
        agree too ("model_and_rule")."""
        task = spec.plan_task
        if self.endpoint.turn_end != "model_and_rule" or task is None or not task.done() or task.cancelled():
            return self.endpoint.turn_model_min_probability
        planned = task.result() if task.exception() is None else None
        if getattr(planned, "planner", None) == "fast" and getattr(planned, "plan", None) is not None:
            return min(self.endpoint.turn_model_min_probability, self.endpoint.turn_model_min_probability_command)
        return self.endpoint.turn_model_min_probability

    def take(self, audio: np.ndarray, last_voiced_s: float, reuse: bool) -> Speculation:
        """The endpoint: the pause's speculation for the turn (`reuse`), else a fresh transcription of `audio`."""
        spec, self.pause = self.pause, None
        if spec is None or not reuse:
            if spec is not None:
                spec.cancel()
            spec = Speculation(audio, None, TurnClock(last_voiced_s=last_voiced_s, speculative=False))
            spec.start_asr(self.transcribe)
        return spec

    def ensure_plan(self, spec: Speculation, text: str) -> None:
        """Give `spec` a plan for `text`: adopt the partial's plan if it was for the same words, else start
        one. Idempotent (both the speculation and the commit call it)."""
        if spec.plan_task is not None:
            return
        partial, self._partial = self._partial, None
        if (
            partial is not None
            and not partial.cancelled
            and partial.plan_text is not None
            and norm(partial.plan_text) == norm(text)
        ):
            spec.adopt(partial)
            return
        if partial is not None:
            partial.cancel()
        spec.start_plan(text, self.plan, self.speaker)

    async def prefill_context(self) -> None:
        """Between turns: evaluate the artifact table + recent turns + "Request:" into the KV cache."""
        try:
            await self.prefill(None, None)
        except EarshotError:
            pass

    def pending(self) -> list[asyncio.Task]:
        """Transcriptions still running (a file source waits for them, as a person takes a breath)."""
        tasks = [self._partial_task, self.pause.asr_task if self.pause is not None else None]
        return [t for t in tasks if t is not None and not t.done()]

    def cancel_all(self) -> None:
        for spec in (self.pause, self._partial):
            if spec is not None:
                spec.cancel()
