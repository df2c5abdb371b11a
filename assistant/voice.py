"""The voice loop: listen, endpoint, speculate, answer, and stop talking when interrupted.

    mic ─► echo canceller ─► VAD (webrtcvad → silero) ─► segmenter ─► events
                 ▲ far-end reference                        │
    speaker ◄────┴──── ReplyVoice ◄── spoken_turn ◄─────────┘

Timeline of one turn (always-listening mode):

- while the user speaks, a partial transcript every `partial_interval_ms` (the fast short-window
  ASR) → `PartialTranscript`; its words are evaluated into the LLM's KV cache (prefill), and when
  a partial already looks like a finished request the planner starts on it speculatively;
- at the first silent frame (`SpeechPaused`) the final ASR starts on the audio so far, and the
  planner on its transcript (unless the partial-based plan was for the same words: kept);
- speech again (`SpeculationCancelled`) throws both away; the turn goes on;
- the endpoint (`SpeechEnded`) comes after `min_silence_ms` if the transcript looks finished,
  else after `max_silence_ms`; only then is the turn committed (recorded, tools run, reply played);
  a plan without steps streams its `say` out of the LLM into the TTS, so the first sentence
  is usually synthesised before the endpoint and plays at once;
- user speech during the reply (`Onset` with the stricter barge-in threshold, on the
  echo-cancelled signal) pauses playback within one audio block, and its transcript decides:
  the user's words (a partial's or the whole utterance's) cancel the turn, and the history keeps
  only what was heard (`Interrupted`); a whole utterance that is the assistant's own voice leaking
  past the echo canceller, or the words Whisper makes of noise, resumes the reply where it paused
  (`BargeInDismissed`).

Push-to-talk: `push_to_talk(True/False)` starts and ends the utterance; VAD only drives the meter.
Wake phrase: an utterance counts only when its transcript opens with the phrase (fuzzy match);
a bare phrase opens a follow-up window for the request.

This module never touches sounddevice: sources and sinks come from audio/io.py (microphone and
speaker, or files), so the tests and `earshot listen --input FILE.wav` run the same code.
"""
from __future__ import annotations

import asyncio
import collections
import functools
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from .audio.aec import EchoGate, EchoStage, ReferenceBuffer, load_echo_canceller
from .audio.segmenter import (Candidate, End, Onset, Pause, Resume, Segmenter, Transient,
                              transcript_looks_complete)
from .audio.vad import FRAME_MS, FRAME_SAMPLES, VadClassifier, VadFrame, level_dbfs
from .audio.wake import WakeMatcher
from .compute_gate import in_foreground
from .config import VoiceOptions
from .errors import EarshotError
from .events import (BargeInDismissed, ErrorEvent, Event, InputLevel, ModeChanged, PartialTranscript, SpeculationCancelled,
                     SpeechDiscarded, SpeechEnded, SpeechPaused, SpeechStarted, Transcript, TurnTiming, Utterance,
                     VoiceState, WakeDetected)
from .pipeline import Assistant, TurnClock

MODES = ("always", "push_to_talk", "wake")
# What Whisper says about silence and noise when it has nothing to say (its training data's credits).
# Said over the assistant's voice, these mean "be quiet": the barge-in already did it, no turn follows.
_STOP_WORDS = {"stop", "it", "that", "talking", "please", "quiet", "be", "shut", "up", "enough", "that's", "thats",
               "ok", "okay", "cancel", "never", "mind", "nevermind", "hush", "silence", "wait", "no", "thanks", "thank",
               "you", "sorry"}
_HALLUCINATIONS = {"you", "thank you", "thanks for watching", "thank you for watching", "bye", "so", "uh", "um",
                   "hmm", "mm", "oh", "ah", "the end", "subtitles by the amaraorg community"}


def echo_of(transcript: str, spoken: str, min_ratio: float = 0.72) -> bool:
    """Does this transcript look like a stretch of what the assistant just said (its own voice
    leaking past the echo canceller)? Letter similarity against every window of the spoken words."""
    from difflib import SequenceMatcher

    words, said = _norm(transcript).split(), _norm(spoken).split()
    if not words or not said:
        return False
    if len(words) == 1 and len(words[0]) >= 3 and any(w.startswith(words[0]) for w in said):
        return True                  # "Trim." heard from "Trimmed …": a clipped word of ours
    target = "".join(words)
    best = 0.0
    for size in {max(1, len(words) - 1), len(words), len(words) + 1}:
        for i in range(0, max(1, len(said) - size + 1)):
            best = max(best, SequenceMatcher(None, target, "".join(said[i:i + size]), autojunk=False).ratio())
    return best >= min_ratio


def heard_over_reply(text: str, spoken: str) -> str | None:
    """Speech heard while the assistant talks: None when it may be the user (the reply stops for
    good, as it always did), else why it is not — "own_voice": the transcript is a stretch of the
    reply, which the echo canceller let through (it re-converges for up to a second when the reply
    starts or the room's echo changes); "no_speech": the words Whisper makes of noise ("Thank you.").
    An empty or unreadable transcript stops the reply: the VAD heard speech, and the user's control
    matters more than an unbroken answer."""
    norm = _norm(text)
    if not norm:
        return None
    if norm in _HALLUCINATIONS:
        return "no_speech"
    return "own_voice" if echo_of(text, spoken) else None


def _norm(text: str) -> str:
    import re

    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def _full_asr(rec, audio: np.ndarray):
    """The ordinary faster-whisper call (30 s window), shaped like the fast path's result."""
    from .asr import ShortResult

    t0 = time.perf_counter()
    result = rec.transcribe(audio)
    return ShortResult(result.text, 0.0, 0.0, result.duration_s, round((time.perf_counter() - t0) * 1000, 1))


class FramePipeline:
    """Audio blocks in, 32 ms VadFrames out: echo cancellation, re-blocking, both VADs, and the
    double-talk gate (a frame during playback counts as speech only if it is louder than the echo
    the canceller leaves over)."""

    def __init__(self, options: VoiceOptions, reference: ReferenceBuffer | None, echo_backend: str) -> None:
        canceller = load_echo_canceller(echo_backend, options.echo.stream_delay_ms)
        self.echo_name = canceller.name
        self.echo = EchoStage(canceller, reference) if reference is not None else None
        self.gate = EchoGate(options.barge_in.echo_margin_db)
        self.classifier = VadClassifier(options.vad)
        self._buf = np.zeros(0, np.float32)
        self._ref = np.zeros(0, np.float32)
        # Echo arrives after the reference (server + room delay, reverberation): compare a frame
        # with the loudest reference of the last ~480 ms, not with the reference of the same instant.
        self._ref_recent: collections.deque[float] = collections.deque(maxlen=15)
        self.gated_frames = 0            # speech frames the double-talk gate refused (echo)

    def feed(self, block: np.ndarray, captured_at_s: float) -> list[VadFrame]:
        if self.echo is not None:
            clean, ref = self.echo(block, captured_at_s)
            self._ref = np.concatenate([self._ref, ref])
        else:
            clean = np.asarray(block, np.float32)
        self._buf = np.concatenate([self._buf, clean])
        out = []
        n = len(self._buf) // FRAME_SAMPLES
        for i in range(n):
            frame = self._buf[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES]
            ref_db = level_dbfs(self._ref[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES]) if self.echo is not None else -120.0
            # The capture time of this frame's last sample, counted back from the block's.
            behind = (len(self._buf) - (i + 1) * FRAME_SAMPLES) / 16_000
            self._ref_recent.append(ref_db)
            ref_env = max(self._ref_recent)
            vf = self.classifier(frame, captured_at_s - behind, reference_dbfs=ref_env)
            self.gate.update(vf.level_dbfs, ref_env, vf.speech_prob)
            if vf.speech_prob > 0.0 and not self.gate.near_end(vf.level_dbfs, ref_env):
                self.gated_frames += 1
                vf = replace(vf, speech_prob=0.0)
            out.append(vf)
        self._buf = self._buf[n * FRAME_SAMPLES:]
        if self.echo is not None:
            self._ref = self._ref[n * FRAME_SAMPLES:]
        return out


@dataclass
class _Partial:
    text: str
    audio_samples: int


@dataclass
class _TentativeBargeIn:
    """Speech over the reply, not yet known to be the user's: the speaker is paused, the turn runs on."""
    turn: asyncio.Task | None
    at_s: float


class Speculation:
    """Transcript → plan → synthesised first sentences, started before the endpoint; cancellable.

    Sentences of a streamed `say` are synthesised as they arrive and queued; `feed()` yields them
    to ReplyVoice once the turn is committed (they keep coming while the plan is generated)."""

    def __init__(self, loop: "VoiceLoop", audio: np.ndarray | None, text: str | None, clock: TurnClock) -> None:
        self.loop = loop
        self.audio = audio
        self.clock = clock
        self.cancel_event = threading.Event()
        self.text: str | None = text
        self.asr_result = None
        self.asr_task: asyncio.Task | None = None
        self.plan_task: asyncio.Task | None = None
        self.plan_text: str | None = None
        self._sentences: asyncio.Queue = asyncio.Queue()
        self._synth_task: asyncio.Task | None = None
        self.cancelled = False

    # transcript
    def start_asr(self) -> None:
        self.clock.asr_started_s = time.monotonic()
        self.asr_task = asyncio.create_task(self._asr())

    async def _asr(self):
        result = await self.loop.transcribe(self.audio)
        self.asr_result = result
        self.text = result.text
        self.clock.asr_done_s = time.monotonic()
        return result

    def transcript_ready(self) -> bool:
        return self.text is not None

    # plan
    def start_plan(self, text: str) -> None:
        if self.plan_task is not None:
            return
        self.plan_text = text
        self.clock.plan_started_s = time.monotonic()
        aloop = asyncio.get_running_loop()
        raw_sentences: asyncio.Queue = asyncio.Queue()

        def on_sentence(sentence: str) -> None:
            aloop.call_soon_threadsafe(raw_sentences.put_nowait, sentence)

        async def run_plan():
            try:
                return await self.loop.plan(text, self.cancel_event, on_sentence)
            finally:
                aloop.call_soon_threadsafe(raw_sentences.put_nowait, None)
                self.clock.plan_done_s = time.monotonic()

        self.plan_task = asyncio.create_task(run_plan())
        if self.loop.assistant.speak and self.loop.assistant.sink is not None:
            self._synth_task = asyncio.create_task(self._synthesise(raw_sentences))

    async def _synthesise(self, raw: asyncio.Queue) -> None:
        tts = await self.loop.tts()
        try:
            while (sentence := await raw.get()) is not None:
                first = self.clock.first_sentence_s is None
                if first:
                    self.clock.first_sentence_s = time.monotonic()
                # The first sentence is what the user waits for: the plan's decoding pauses for it.
                synthesize = functools.partial(in_foreground, tts.synthesize) if first else tts.synthesize
                audio = await asyncio.to_thread(synthesize, sentence)
                if audio.size:
                    await self._sentences.put((sentence, audio))
        finally:
            await self._sentences.put(None)

    async def feed(self):
        while (item := await self._sentences.get()) is not None:
            yield item

    @property
    def streams_say(self) -> bool:
        return self._synth_task is not None

    def cancel(self) -> None:
        self.cancelled = True
        self.cancel_event.set()
        for task in (self.asr_task, self.plan_task, self._synth_task):
            if task is not None and not task.done():
                task.cancel()


class VoiceLoop:
    """Runs until `stop()` (or the end of a file source). All public methods are for the event loop
    thread; the capture thread only hands frames over."""

    def __init__(self, assistant: Assistant, source, sink=None, options: VoiceOptions | None = None,
                 emit: Callable[[Event], None] | None = None) -> None:
        self.assistant = assistant
        self.source = source
        self.sink = sink
        self.options = options or assistant.config.voice
        self.emit = emit or assistant.emit
        self.mode = self.options.listen.mode
        assistant.sink = sink
        if self.mode not in MODES:
            raise EarshotError(f"unknown listening mode {self.mode!r}", f"use one of {', '.join(MODES)}")
        self.reference = ReferenceBuffer() if (sink is not None and getattr(sink, "live", False)) else None
        echo_backend = self.options.echo.backend if self.reference is not None else "off"
        # A live speaker always gets an EchoStage (even with the canceller "off") so the double-talk
        # gate knows what is playing; files and --no-speak need neither.
        self.frames = FramePipeline(self.options, self.reference, echo_backend)
        if self.options.listen.naive_baseline:
            # 700 ms of silence, always; no speculation, no partials (see ListenOptions.naive_baseline).
            from dataclasses import replace as _replace

            self.options = _replace(self.options, listen=_replace(self.options.listen, speculate=False,
                                                                    speculate_on_partials=False,
                                                                    partial_interval_ms=10 ** 9),
                                    endpoint=_replace(self.options.endpoint, min_silence_ms=700, max_silence_ms=700))
        self.segmenter = Segmenter(self.options.endpoint, self.options.vad, self.options.barge_in)
        self.segmenter.completion = self._completion
        self.wake = WakeMatcher(self.options.listen.wake_phrase, self.options.listen.wake_min_score)
        self._awake_until = 0.0
        self._queue: asyncio.Queue | None = None
        self._stop = asyncio.Event()
        self._thread: threading.Thread | None = None
        self._spec: Speculation | None = None               # started at the first silent frame
        self._partial_spec: Speculation | None = None       # planning on a complete-looking partial
        self._partial_task: asyncio.Task | None = None
        self._partial: _Partial | None = None
        self._next_partial_samples = 0
        self._turn: asyncio.Task | None = None
        self._state = ""
        self._levels: list[float] = []
        self._probs: list[float] = []
        self._tts = None
        self._speech_started_at = 0.0
        self._last_voiced_at = 0.0
        self._barged_in = False
        self._tentative: _TentativeBargeIn | None = None
        self.turns_committed = 0
        self.frame_tap: Callable[[VadFrame], None] | None = None   # sees every frame (tests, meters)
        self.discarded: list[SpeechDiscarded] = []
        self.on_turn_done: Callable[[], None] | None = None      # after every turn that began (UIs)
        if not self.options.listen.naive_baseline:
            # The next turn's context is evaluated while this reply plays, not after it (the user may
            # speak again 0.2 s after the reply ends; the history can take seconds to evaluate).
            assistant.on_reply_recorded = lambda: asyncio.get_running_loop().create_task(self._prefill_context())

    # -- public API (CLI, TUI, bench) -----------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise EarshotError(f"unknown listening mode {mode!r}", f"use one of {', '.join(MODES)}")
        self.mode = mode
        self.segmenter.manual = mode == "push_to_talk"
        self.emit(ModeChanged(mode, self.options.listen.wake_phrase if mode == "wake" else ""))

    def push_to_talk(self, pressed: bool) -> None:
        """Push-to-talk key down/up (any mode: pressing always addresses the assistant)."""
        events = self.segmenter.press() if pressed else self.segmenter.release()
        for ev in events:
            self._on_segment(ev, ptt=True)

    def stop(self) -> None:
        self._stop.set()

    def interrupt(self) -> None:
        """Esc or Ctrl+C in a UI: what a barge-in does — stop the voice now, cancel the running
        turn (the pipeline records it as interrupted, keeps what was heard, emits `Interrupted`)."""
        self.assistant.interrupt()
        self._tentative = None
        if self.sink is not None:
            self.sink.stop()
        if self._turn is not None and not self._turn.done():
            self._turn.cancel()

    def run_text(self, text: str) -> None:
        """A typed request (the TUI's prompt), run as a turn of this loop: one speaker, one model, and
        speech over its reply interrupts it exactly as it interrupts a spoken turn."""
        if self._turn is not None and not self._turn.done():
            raise EarshotError("a turn is still running", "press Esc to interrupt it")
        self._barged_in = False
        self._set_state("thinking")
        self._turn = asyncio.create_task(self._typed_turn(text))

    async def _typed_turn(self, text: str) -> None:
        try:
            await self.assistant.handle_text(text)
        except EarshotError:
            pass                          # recorded and emitted by the pipeline
        except Exception as exc:
            self._internal_error(exc)
        finally:
            self._turn_finished()

    @property
    def state(self) -> str:
        return self._state

    # -- models (shared, loaded once) --------------------------------------------------------------
    async def tts(self):
        if self._tts is None:
            voice = await self.assistant.reply_voice()
            self._tts = voice.tts
        return self._tts

    def _recognizer(self):
        from .asr import get_recognizer

        return get_recognizer(self.assistant.models, self.assistant.config.models.asr)

    def _streaming_planner(self):
        from .llm.streaming import get_streaming_planner

        return get_streaming_planner(self.assistant.planner)

    async def transcribe(self, audio: np.ndarray):
        hot = self.options.listen.wake_phrase if self.mode == "wake" else None
        rec = await asyncio.to_thread(self._recognizer)
        if self.options.listen.naive_baseline:
            return await asyncio.to_thread(_full_asr, rec, audio)
        # The transcript decides when the turn ends: the ASR goes first, LLM work waits (compute_gate.py).
        return await asyncio.to_thread(in_foreground, rec.transcribe_short, audio,
                                       min_window_s=self.options.listen.asr_min_window_s, hotwords=hot)

    async def plan(self, text: str, cancel: threading.Event, on_sentence):
        sp = await asyncio.to_thread(self._streaming_planner)
        return await asyncio.to_thread(sp.plan, text, self.assistant.session, self.assistant.config.paths.allowed_roots,
                                       cancel=cancel, on_say_sentence=on_sentence,
                                       first_clause_words=self.options.listen.first_clause_words)

    async def warm_up(self) -> None:
        """Load ASR, planner, TTS and evaluate the per-turn context now, not on the first request."""
        await asyncio.to_thread(self._recognizer)
        rec = self._recognizer()
        await asyncio.to_thread(rec.transcribe_short, np.zeros(8000, np.float32))
        await asyncio.to_thread(self._streaming_planner)
        if self.assistant.speak and self.sink is not None:
            await self.tts()
        await self._prefill_context()

    async def greet(self) -> None:
        """Say the greeting (see ListenOptions.greeting) when a live speaker is attached."""
        if self.options.listen.greeting and self.assistant.speak and getattr(self.sink, "live", False):
            await self.assistant.say(self.options.listen.greeting)

    async def _prefill_context(self) -> None:
        """Between turns: evaluate the artifact table + recent turns + "Request:" into the KV cache."""
        if self.options.listen.naive_baseline:
            return
        try:
            sp = await asyncio.to_thread(self._streaming_planner)
            prefix = await asyncio.to_thread(sp.context_prefix, self.assistant.session)
            await asyncio.to_thread(sp.prefill, prefix)
        except EarshotError:
            pass

    # -- running ----------------------------------------------------------------------------------
    async def run(self) -> None:
        aloop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self.assistant.sink = self.sink
        if self.sink is not None:
            if self.reference is not None:
                self.sink.reference = self.reference.push
            self.sink.start()
        self.source.start()
        self._set_state("idle")
        self.emit(ModeChanged(self.mode, self.options.listen.wake_phrase if self.mode == "wake" else ""))
        if self.mode == "push_to_talk":
            self.segmenter.manual = True
        live = getattr(self.source, "live", False)
        if live:
            self._thread = threading.Thread(target=self._capture, args=(aloop,), name="earshot-capture", daemon=True)
            self._thread.start()
        try:
            while not self._stop.is_set():
                if live:
                    try:
                        frame = await asyncio.wait_for(self._queue.get(), timeout=0.2)
                    except asyncio.TimeoutError:
                        continue
                    self._on_frame(frame)
                else:
                    block = self.source.read(timeout=0)
                    if block is None:
                        if self._turn is not None and not self._turn.done():
                            await asyncio.wait({self._turn})
                            continue
                        break
                    for frame in self.frames.feed(block.audio, block.end_s):
                        self._on_frame(frame)
                    # Unpaced files: let speculation run in step with the audio, and finish each
                    # committed turn before reading on (no barge-in from a file).
                    await asyncio.sleep(0)
                    if self._turn is not None and not self._turn.done():
                        await asyncio.wait({self._turn})
                    if self._spec is not None and self._spec.asr_task is not None and not self._spec.asr_task.done():
                        await asyncio.wait({self._spec.asr_task})
                    if self._partial_task is not None and not self._partial_task.done():
                        await asyncio.wait({self._partial_task})
            if self._turn is not None and not self._turn.done():
                await asyncio.wait({self._turn})
        finally:
            self._stop.set()
            if self._turn is not None and not self._turn.done():
                self._turn.cancel()       # stopped mid-turn (quit): the turn ends as interrupted
            for spec in (self._spec, self._partial_spec):
                if spec is not None:
                    spec.cancel()
            if self._thread is not None:
                self._thread.join(timeout=2)
            self.source.close()
            if self.sink is not None and hasattr(self.sink, "close"):
                self.sink.close()

    def _capture(self, aloop: asyncio.AbstractEventLoop) -> None:
        """Capture thread: blocks → echo cancellation → VAD; frames go to the event loop."""
        while not self._stop.is_set():
            block = self.source.read(timeout=0.1)
            if block is None:
                continue
            for frame in self.frames.feed(block.audio, block.end_s):
                aloop.call_soon_threadsafe(self._queue.put_nowait, frame)

    # -- per frame ----------------------------------------------------------------------------------
    def _on_frame(self, frame: VadFrame) -> None:
        if self.frame_tap is not None:
            self.frame_tap(frame)
        self._levels.append(frame.level_dbfs)
        self._probs.append(frame.speech_prob)
        if len(self._levels) * FRAME_MS >= 96:
            level = 10 * np.log10(np.mean([10 ** (l / 10) for l in self._levels]))
            self.emit(InputLevel(round(float(level), 1), max(self._levels), round(max(self._probs), 3)))
            self._levels, self._probs = [], []
        speaking = self._speaking()
        self.segmenter.playback_active = speaking
        self._show_speaking(speaking)
        for ev in self.segmenter.push(frame):
            self._on_segment(ev)
        if self.segmenter.state == "speech":
            self._maybe_partial()       # in a pause the final (speculative) ASR is already running

    def _show_speaking(self, speaking: bool) -> None:
        """"speaking" while the speaker plays (a reply, or the greeting outside any turn), then back
        to "idle" once no turn is left running (the UI's state light)."""
        if speaking and self._state in ("idle", "thinking"):
            self._set_state("speaking")
        elif not speaking and self._state == "speaking" and (self._turn is None or self._turn.done()):
            self._set_state("idle")

    def _speaking(self) -> bool:
        return self.sink is not None and bool(getattr(self.sink, "busy", False))

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.emit(VoiceState(state, time.monotonic()))

    def _completion(self) -> bool | None:
        """For the segmenter at min_silence_ms: does the speculative transcript look finished?"""
        spec = self._spec
        if self.options.listen.naive_baseline:
            return False
        if spec is None:
            return True if not self.options.listen.speculate else None
        if self.options.listen.naive_baseline:
            return False
        if not spec.transcript_ready():
            return None
        return transcript_looks_complete(spec.text or "")

    # -- segment events -------------------------------------------------------------------------------
    def _on_segment(self, ev, ptt: bool = False) -> None:
        if isinstance(ev, Candidate):
            # Maybe the user: hold the reply now (it is what they notice), decide when the VAD is sure.
            if self._speaking() and self.options.barge_in.enabled and self.mode != "push_to_talk":
                self.sink.pause()
        elif isinstance(ev, Onset):
            self._on_onset(ev)
        elif isinstance(ev, Transient):
            if self.sink is not None and getattr(self.sink, "paused", False):
                self.sink.resume()      # it was a cough or a click: the reply goes on where it paused
            self.emit(SpeechDiscarded("transient"))
        elif isinstance(ev, Pause):
            self.emit(SpeechPaused(ev.frame.captured_at_s, ev.frame.captured_at_s - FRAME_MS / 1000))
            self._last_voiced_at = ev.frame.captured_at_s - FRAME_MS / 1000
            if self.options.listen.speculate and self.mode != "push_to_talk":
                self._start_speculation(self.segmenter.audio_so_far(), ev.frame.captured_at_s)
        elif isinstance(ev, Resume):
            if self._spec is not None:
                self.emit(SpeculationCancelled("user kept talking", self._spec.text or ""))
                self._spec.cancel()
                self._spec = None
        elif isinstance(ev, End):
            self._on_end(ev)

    def _on_onset(self, ev: Onset) -> None:
        speaking = self._speaking()
        busy = self._turn is not None and not self._turn.done()
        barge_in = (speaking or busy) and self.options.barge_in.enabled and self.mode != "push_to_talk"
        if barge_in:
            if speaking and self.options.barge_in.confirm_with_transcript:
                # The voice stops now (that is what the user notices); the turn is cancelled once a
                # transcript says this was the user and not our own voice leaking past the canceller.
                self.sink.pause()
                self._tentative = _TentativeBargeIn(self._turn if busy else None, ev.frame.captured_at_s)
            else:
                self._stop_reply(self._turn if busy else None)
        self._barged_in = barge_in
        self._speech_started_at = ev.frame.captured_at_s
        onset_at = ev.frame.captured_at_s - (ev.frame.index - ev.trigger_index + 1) * FRAME_MS / 1000
        self.emit(SpeechStarted(onset_at))
        self._set_state("hearing")
        self._partial = None
        self._next_partial_samples = int(self.options.listen.partial_interval_ms * 16)
        self._last_voiced_at = ev.frame.captured_at_s

    def _stop_reply(self, turn: asyncio.Task | None) -> None:
        """Barge-in: stop the voice first, then cancel the turn (it records what was heard)."""
        voice = self.assistant.voice
        if voice is not None:
            voice.stop_now()
        if self.sink is not None:
            self.sink.stop()
        if turn is not None and not turn.done():
            turn.cancel()

    def _settle_barge_in(self, text: str, final: bool) -> str | None:
        """A transcript of the speech that paused the reply: the user's words stop it for good (None);
        our own voice, or Whisper's words for noise, resume it where it paused (returns why) — but only
        on the whole utterance (`final`): a partial decides only when it holds the user's words."""
        tentative = self._tentative
        if tentative is None or (not final and not _norm(text)):
            return None
        voice = self.assistant.voice
        reason = heard_over_reply(text, voice.recently_spoken(tentative.at_s) if voice is not None else "")
        if reason is not None and not final:
            return None               # Whisper makes "Thank you." of the first half second of "Stop talking"
        self._tentative = None
        if reason is None:
            self._stop_reply(tentative.turn)
            return None
        self._barged_in = False
        if tentative.turn is not None and not tentative.turn.done():
            self._turn = tentative.turn
        if self.sink is not None:
            self.sink.resume()
        self.emit(BargeInDismissed(reason, text))
        return reason

    def _start_speculation(self, audio: np.ndarray, at_s: float) -> None:
        if self._spec is not None:
            self._spec.cancel()
        clock = TurnClock(last_voiced_s=self._last_voiced_at, paused_s=at_s, speculative=True)
        spec = Speculation(self, audio, None, clock)
        self._spec = spec
        spec.start_asr()

        async def then_plan():
            try:
                result = await spec.asr_task
            except asyncio.CancelledError:
                return
            if not spec.cancelled:
                self._settle_barge_in(result.text, final=False)
            if spec.cancelled or not self._accept_text(result) or self.mode == "wake":
                return
            self._ensure_plan(spec, result.text)

        asyncio.create_task(then_plan())

    def _ensure_plan(self, spec: Speculation, text: str) -> None:
        """Give `spec` a plan for `text`: adopt the partial-transcript plan if it was for the same
        words, else start one. Idempotent (both the speculation and the commit call it)."""
        if spec.plan_task is not None:
            return
        partial = self._partial_spec
        self._partial_spec = None
        if partial is not None and not partial.cancelled and partial.plan_text is not None \
                and _norm(partial.plan_text) == _norm(text):
            spec.plan_task, spec._synth_task, spec._sentences = partial.plan_task, partial._synth_task, partial._sentences
            spec.cancel_event, spec.plan_text = partial.cancel_event, partial.plan_text
            spec.clock.plan_started_s = partial.clock.plan_started_s
            spec.clock.first_sentence_s = partial.clock.first_sentence_s
            spec.clock.plan_done_s = partial.clock.plan_done_s
            partial.clock = spec.clock    # stage times still to come land on the adopting clock
            return
        if partial is not None:
            partial.cancel()
        spec.start_plan(text)

    def _maybe_partial(self) -> None:
        audio = self.segmenter.audio_so_far()
        if len(audio) < self._next_partial_samples or self.mode == "push_to_talk":
            return
        if self._partial_task is not None and not self._partial_task.done():
            return
        if self._spec is not None and self._spec.asr_task is not None and not self._spec.asr_task.done():
            return
        self._next_partial_samples = len(audio) + int(self.options.listen.partial_interval_ms * 16)
        self._partial_task = asyncio.create_task(self._run_partial(audio))

    async def _run_partial(self, audio: np.ndarray) -> None:
        result = await self.transcribe(audio)
        if self.segmenter.state in ("speech", "pause"):
            self._settle_barge_in(result.text, final=False)
        if not result.text or self.segmenter.state not in ("speech", "pause"):
            return
        self._partial = _Partial(result.text, len(audio))
        self.emit(PartialTranscript(result.text, round(len(audio) / 16000, 2), result.elapsed_ms))
        if self.mode == "wake":
            return
        sp = await asyncio.to_thread(self._streaming_planner)
        # Evaluate the words so far into the KV cache (skipped if the LLM is busy).
        prefix = await asyncio.to_thread(sp.partial_prefix, result.text, self.assistant.session)
        await asyncio.to_thread(sp.prefill, prefix, threading.Event())
        if not self.options.listen.speculate_on_partials or not transcript_looks_complete(result.text):
            return
        if self.segmenter.state not in ("speech", "pause"):
            return
        current = self._partial_spec
        if current is not None and current.plan_text is not None and _norm(current.plan_text) == _norm(result.text):
            return
        if current is not None:
            current.cancel()
        clock = TurnClock(speculative=True)
        spec = Speculation(self, None, result.text, clock)
        self._partial_spec = spec
        spec.start_plan(result.text)

    def _accept_text(self, result, quiet: bool = False) -> bool:
        """Is this transcript speech addressed to us (not a cough read as "Hm.", not silence)?"""
        text = result.text.strip()
        norm = _norm(text)
        if len(norm) < self.options.listen.min_transcript_chars:
            return False
        if result.no_speech_prob > 0.6 and result.avg_logprob < -1.0:
            return False
        if norm in _HALLUCINATIONS and result.avg_logprob < -0.5:
            return False
        return True

    def _on_end(self, ev: End) -> None:
        self.emit(SpeechEnded(ev.reason, ev.frame.captured_at_s, ev.silence_ms,
                              round(len(ev.audio) / 16000, 3)))
        spec = self._spec
        self._spec = None
        if spec is None or ev.reason in ("manual", "max_length"):
            if spec is not None:
                spec.cancel()
            clock = TurnClock(last_voiced_s=ev.frame.captured_at_s - ev.silence_ms / 1000, speculative=False)
            spec = Speculation(self, ev.audio, None, clock)
            spec.start_asr()
        spec.clock.endpoint_s = time.monotonic()
        self._set_state("thinking")
        # A turn still running (push-to-talk over a reply, or a reply this speech paused and then
        # resumed as our own voice): the transcript decides whether a new request supersedes it.
        previous = self._turn if self._turn is not None and not self._turn.done() else None
        self._turn = asyncio.create_task(self._commit(spec, ev, previous))

    async def _commit(self, spec: Speculation, ev: End, previous: asyncio.Task | None = None) -> None:
        clock = spec.clock
        committed = False
        try:
            try:
                result = spec.asr_result if spec.asr_result is not None else await spec.asr_task
            except asyncio.CancelledError:
                raise
            dismissed = self._settle_barge_in(result.text, final=True)
            if dismissed:
                self._discard(dismissed, result.text, spec)
                return
            if not self._accept_text(result):
                self._discard("no_speech", result.text, spec)
                return
            text = result.text.strip()
            voice = self.assistant.voice
            if voice is not None and echo_of(text, voice.recently_spoken(self._speech_started_at)):
                # Last line of defence: the transcript is what we were saying ourselves.
                self._discard("own_voice", text, spec)
                return
            words = _norm(text).split()
            # Over the assistant's voice, "stop", "please", "okay, wait" are the interruption
            # itself (the echo canceller may have eaten the "stop" of "stop, please"): no new turn.
            if self._barged_in and words and set(words) <= _STOP_WORDS:
                self._discard("stop_command", text, spec)
                return
            if self.mode == "wake" and time.monotonic() > self._awake_until:
                match = self.wake.match(text)
                if not match.accepted:
                    self._discard("no_wake_phrase", text, spec)
                    return
                self.emit(WakeDetected(text, match.score, match.remainder))
                if len(_norm(match.remainder)) < self.options.listen.min_transcript_chars:
                    self._awake_until = time.monotonic() + self.options.listen.wake_follow_up_s
                    spec.cancel()
                    self._set_state("idle")
                    return
                text = match.remainder
            self._awake_until = 0.0
            if previous is not None and not previous.done():
                self._stop_reply(previous)          # the new request supersedes the running turn
            self.emit(Utterance(ev.audio, ev.frame.captured_at_s - len(ev.audio) / 16000, clock.last_voiced_s))
            self.emit(Transcript(text, "en", result.duration_s, result.elapsed_ms))
            committed = True
            self.turns_committed += 1
            if self.options.listen.naive_baseline:
                await self.assistant.spoken_turn(text, None, None, clock, whole_reply=True)
                return
            self._ensure_plan(spec, text)
            feed = spec.feed() if spec.streams_say else None
            await self.assistant.spoken_turn(text, spec.plan_task, feed, clock)
        except asyncio.CancelledError:
            spec.cancel()
            if previous is not None:
                previous.cancel()         # Esc or quit while the transcript was pending: everything stops
            raise
        except EarshotError:
            pass                          # spoken_turn already emitted it (ErrorEvent) and recorded the turn
        except Exception as exc:
            self._internal_error(exc)
        finally:
            resumed = not committed and previous is not None and not previous.done() and not previous.cancelling()
            if resumed:
                self._turn = previous               # nothing new was asked: the running turn goes on
            if committed:
                self.emit(TurnTiming(clock.last_voiced_s, clock.paused_s, clock.endpoint_s, clock.asr_started_s,
                                     clock.asr_done_s, clock.plan_started_s, clock.first_sentence_s,
                                     clock.plan_done_s, clock.first_audio_ready_s, clock.first_audio_queued_s,
                                     clock.first_audio_heard_s, clock.speculative))
            if not resumed:
                self._turn_finished(committed)

    def _turn_finished(self, committed: bool = True) -> None:
        if self.segmenter.state == "idle":
            self._set_state("idle")
        if committed and self.on_turn_done is not None:
            self.on_turn_done()
        if not self._stop.is_set():
            asyncio.create_task(self._prefill_context())

    def _internal_error(self, exc: Exception) -> None:
        """A bug: say so (and where) instead of losing it in a task nobody awaits."""
        import traceback

        traceback.print_exception(exc)
        self.emit(ErrorEvent(f"the turn failed with an internal error: {exc!r}",
                             "this is a bug in Earshot; the traceback is on stderr"))

    def _discard(self, reason: str, text: str, spec: Speculation) -> None:
        spec.cancel()
        event = SpeechDiscarded(reason, text)
        self.discarded.append(event)
        self.emit(event)
        if self.segmenter.state == "idle":
            self._set_state("idle")
