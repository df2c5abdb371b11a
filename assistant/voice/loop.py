"""The voice loop: listen, endpoint, speculate, answer, and stop talking when interrupted.

    mic ─► echo canceller ─► VAD (webrtcvad → silero) ─► segmenter ─► events        (audio/frames.py)
                 ▲ far-end reference                        │
    speaker ◄────┴──── Speaker ◄── TurnRunner.run ◄─────────┘                       (voice/speaker.py, turn.py)

Timeline of one turn (always-listening mode):

- while the user speaks, partial transcripts; a partial that looks finished starts the planner
  (voice/speculation.py);
- at the first silent frame (`SpeechPaused`) the final ASR starts, then the planner; speech again
  (`SpeculationCancelled`) throws both away;
- the endpoint (`SpeechEnded`) comes after `min_silence_ms` if the transcript looks finished, else
  after `max_silence_ms`; the transcript is judged (voice/gates.py: noise, our own echo, "stop", the
  wake phrase) and only then is the turn committed (`TurnRunner.run`: recorded, tools run, reply
  played); a plan without steps streams its `say` into the speaker, usually before the endpoint;
- user speech during the reply pauses it, and a transcript decides (voice/barge_in.py).

Push-to-talk: `push_to_talk(True/False)` starts and ends the utterance; VAD only drives the meter.
Wake phrase: an utterance counts only when its transcript opens with the phrase; a bare phrase opens
a follow-up window for the request. Typed requests (`run_text`) run on the same loop, so speech over
their reply interrupts them too.

This module never touches sounddevice: sources and sinks come from audio/io.py (microphone and
speaker, or files) and voice/pump.py, so the tests and `earshot listen --input FILE.wav` run the same code.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace

from ..audio.aec import ReferenceBuffer
from ..audio.frames import FramePipeline, LevelMeter
from ..audio.segmenter import Candidate, End, Onset, Pause, Resume, Segmenter, Transient
from ..audio.vad import FRAME_MS, VadFrame
from ..audio.wake import WakeMatcher
from ..config import VoiceOptions
from ..errors import EarshotError
from ..events import (
    Event,
    ModeChanged,
    SpeechDiscarded,
    SpeechEnded,
    SpeechPaused,
    SpeechStarted,
    Transcript,
    Utterance,
    VoiceState,
    WakeDetected,
)
from ..runtime.memory import release_free_memory
from ..turn import TurnCancel, TurnRequest, report
from .barge_in import BargeIn
from .gates import Verdict, accept_transcript, checked_mode, judge_utterance
from .pump import FramePump
from .speculation import Speculation, Speculator, Transcribe, fast_transcriber, turn_judge


class VoiceLoop:
    """Runs until `stop()` (or the end of a file source). Public methods are for the event loop's thread."""

    def __init__(
        self,
        assistant,
        source,
        speaker=None,
        options: VoiceOptions | None = None,
        emit: Callable[[Event], None] | None = None,
        transcribe: Transcribe | None = None,
        frames: FramePipeline | None = None,
    ) -> None:
        self.assistant = assistant
        self.source = source
        self.speaker = speaker  # voice/speaker.py Speaker, or None: nothing is spoken
        self.options = options or assistant.config.voice
        self.emit = emit or assistant.emit
        self.listen = self.options.listen
        self.mode = checked_mode(self.listen.mode)
        # A live speaker always gets an echo stage (even with the canceller "off") so the double-talk gate
        # knows what is playing; files and --no-speak need neither.
        self.reference = ReferenceBuffer() if speaker is not None and speaker.live else None
        self.frames = frames or FramePipeline(
            self.options, self.reference, self.options.echo.backend if self.reference is not None else "off"
        )
        self.meter = LevelMeter()
        self.segmenter = Segmenter(self.options.endpoint, self.options.vad, self.options.barge_in)
        self.wake = WakeMatcher(self.listen.wake_phrase, self.listen.wake_min_score)
        self.barge_in = BargeIn(self.options.barge_in, speaker, self.emit)
        transcribe = transcribe or fast_transcriber(assistant, self.listen, lambda: self.mode == "wake")
        self.speculator = Speculator(
            self.listen,
            transcribe,
            assistant.plan_streamed,
            assistant.prefill,
            speaker,
            self.emit,
            self.barge_in.settle,
            turn_judge(assistant, self.options.endpoint),
            self.options.endpoint,
            undecided=lambda: self.barge_in.tentative is not None,
        )
        self.segmenter.completion = self.speculator.completion
        self.speculator.on_ready = self._poll_endpoint
        if self.speculator.judge is not None and self.listen.speculate:  # the model answers at the first silence
            endpoint = self.options.endpoint
            self.segmenter.endpoint = replace(endpoint, min_silence_ms=endpoint.turn_model_min_silence_ms)
        self._awake_until = 0.0
        self._turn: TurnCancel | None = None
        self._stop = asyncio.Event()
        self.state = ""  # idle, hearing, thinking or speaking (VoiceState)
        self._speech_started_at = 0.0
        self._last_voiced_at = 0.0
        self.turns_committed = 0
        self.discarded: list[SpeechDiscarded] = []
        self.on_turn_done: Callable[[], None] | None = None  # after every turn that began (UIs)

    # -- control (CLI, TUI, bench) ------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        self.mode = checked_mode(mode)
        self.segmenter.manual = mode == "push_to_talk"
        self.emit(ModeChanged(mode, self.listen.wake_phrase if mode == "wake" else ""))

    def push_to_talk(self, pressed: bool) -> None:
        """Push-to-talk key down/up (any mode: pressing always addresses the assistant)."""
        for ev in self.segmenter.press() if pressed else self.segmenter.release():
            self._on_segment(ev)

    def stop(self) -> None:
        self._stop.set()

    def interrupt(self) -> None:
        """Esc or Ctrl+C in a UI: what a barge-in does — the voice stops now, the running turn is
        cancelled (recorded as interrupted with what was heard, `Interrupted`)."""
        self.barge_in.reset()
        if self.speaker is not None:
            self.speaker.stop()
        if self._turn is not None:
            self._turn.stop("user")

    def run_text(self, text: str) -> None:
        """A typed request, run as a turn of this loop: one speaker, one model, and speech over its
        reply interrupts it exactly as it interrupts a spoken turn. Refused while a turn runs or a
        spoken request is still being heard (the caller shows why; nothing is lost)."""
        if self.running_turn is not None:
            raise EarshotError("a turn is still running", "press Esc to interrupt it, or wait for it to finish")
        if self.segmenter.state != "idle":
            raise EarshotError("a spoken request is being heard", "send it again once it is answered, or press Esc")
        self.barge_in.reset()
        self._set_state("thinking")
        cancel = TurnCancel(self.speaker)
        self._turn = cancel
        task = cancel.attach(asyncio.create_task(self._run_turn(TurnRequest(text, "typed"), cancel)))
        task.add_done_callback(lambda _: self._turn_finished(True))

    @property
    def running_turn(self) -> TurnCancel | None:
        """The turn being heard or answered, if any (its `stop()` ends it)."""
        return self._turn if self._turn is not None and self._turn.running else None

    # -- running --------------------------------------------------------------------------------------
    async def run(self) -> None:
        if self.speaker is not None:
            if self.reference is not None:
                self.speaker.sink.reference = self.reference
            self.speaker.sink.start()
        self.source.start()
        self._set_state("idle")
        self.set_mode(self.mode)
        # A file source waits for these before its next frame (as if the user had waited for the answer).
        running = lambda: [self.running_turn.task] if self.running_turn is not None else []  # noqa: E731
        pump = FramePump(
            self.source, self.frames, lambda: running() + self.speculator.pending() + self.barge_in.pending()
        )
        try:
            async for frame in pump.frames(self._stop):
                self._on_frame(frame)
            if (turn := self.running_turn) is not None:
                await asyncio.wait({turn.task})
        finally:
            self._stop.set()
            if (turn := self.running_turn) is not None:
                turn.stop("quit")  # stopped mid-turn: the turn ends as interrupted
            self.speculator.cancel_all()
            self.barge_in.cancel_check()
            pump.close()
            self.source.close()
            if self.speaker is not None and hasattr(self.speaker.sink, "close"):
                self.speaker.sink.close()

    def _on_frame(self, frame: VadFrame) -> None:
        if (level := self.meter.push(frame)) is not None:
            self.emit(level)
        speaking = self.barge_in.speaking()
        self.segmenter.playback_active = speaking
        # "speaking" while the speaker plays (a reply, or the greeting outside any turn), then back to
        # "idle" once no turn is left running (the UI's state light).
        if speaking and self.state in ("idle", "thinking"):
            self._set_state("speaking")
        elif not speaking and self.state == "speaking" and self.running_turn is None:
            self._set_state("idle")
        for ev in self.segmenter.push(frame):
            self._on_segment(ev)
        if self.segmenter.state == "speech" and self.mode != "push_to_talk":
            self.speculator.on_speech(
                self.segmenter.audio_so_far(),
                lambda: self.segmenter.state in ("speech", "pause"),
                planning=self.mode != "wake",
            )

    def _poll_endpoint(self) -> None:
        """The pause's transcript, turn-end answer or plan just came: end the turn now if it is finished."""
        for ev in self.segmenter.poll():
            self._on_segment(ev)

    def _on_segment(self, ev) -> None:
        at = ev.frame.captured_at_s if hasattr(ev, "frame") else time.monotonic()
        if isinstance(ev, Candidate):
            self.barge_in.on_candidate(self.mode, at)
        elif isinstance(ev, Onset):
            self.barge_in.on_onset(at, self.running_turn, self.mode)
            self._speech_started_at = self._last_voiced_at = at
            self.emit(SpeechStarted(at - (ev.frame.index - ev.trigger_index + 1) * FRAME_MS / 1000))
            self._set_state("hearing")
            self.speculator.on_onset()
        elif isinstance(ev, Transient):
            quiet = lambda: self.segmenter.state == "idle"  # noqa: E731 - nothing heard since
            turn = lambda: self.running_turn  # noqa: E731
            if not self.barge_in.check_transient(ev.audio, self.speculator.transcribe, quiet, turn):
                self.barge_in.on_transient()
                self.emit(SpeechDiscarded("transient"))
        elif isinstance(ev, Pause):
            self._last_voiced_at = at - FRAME_MS / 1000
            self.emit(SpeechPaused(at, self._last_voiced_at))
            if self.listen.speculate and self.mode != "push_to_talk":
                self.speculator.on_pause(
                    self.segmenter.audio_so_far(),
                    at,
                    self._last_voiced_at,
                    planning=self.mode != "wake",
                    accept=lambda r: accept_transcript(r, self.listen.min_transcript_chars),
                )
        elif isinstance(ev, Resume):
            self.speculator.on_resume()
        elif isinstance(ev, End):
            self.emit(SpeechEnded(ev.reason, at, ev.silence_ms, round(len(ev.audio) / 16000, 3)))
            spec = self.speculator.take(
                ev.audio, at - ev.silence_ms / 1000, reuse=ev.reason not in ("manual", "max_length")
            )
            spec.clock.endpoint_s = time.monotonic()
            self._set_state("thinking")
            # A turn still running (push-to-talk over a reply, or a reply this speech paused and then
            # resumed as our own voice): the transcript decides whether a new request supersedes it.
            previous = self.running_turn
            self._turn = TurnCancel(self.speaker)
            self._turn.attach(asyncio.create_task(self._commit(spec, ev, self._turn, previous)))

    async def _commit(self, spec: Speculation, ev: End, cancel: TurnCancel, previous: TurnCancel | None) -> None:
        """The endpoint's transcript: judged, then run as a turn — or discarded, and a turn it paused goes on."""
        clock = spec.clock
        committed = False
        try:
            result = spec.asr_result if spec.asr_result is not None else await spec.asr_task
            dismissed, result = await self.barge_in.settle_final(result, ev.audio, self.speculator.transcribe)
            verdict = (
                Verdict(discard=dismissed)
                if dismissed
                else judge_utterance(
                    result,
                    options=self.listen,
                    mode=self.mode,
                    over_reply=self.barge_in.over_reply,
                    own_voice=self.speaker.recently_spoken(self._speech_started_at) if self.speaker is not None else "",
                    awake=time.monotonic() <= self._awake_until,
                    wake=self.wake,
                )
            )
            if verdict.wake is not None:
                self.emit(WakeDetected(result.text.strip(), verdict.wake.score, verdict.wake.remainder))
            if verdict.wake_only:
                self._awake_until = time.monotonic() + self.listen.wake_follow_up_s
            if verdict.discard is not None or verdict.wake_only:
                spec.cancel()
                if verdict.discard is not None:
                    self.discarded.append(SpeechDiscarded(verdict.discard, result.text.strip()))
                    self.emit(self.discarded[-1])
                return
            self._awake_until = 0.0
            if previous is not None:
                previous.stop("superseded")  # the new request supersedes the running turn
            self.emit(Utterance(ev.audio, ev.frame.captured_at_s - len(ev.audio) / 16000, clock.last_voiced_s))
            self.emit(Transcript(verdict.text, result.language, result.duration_s, result.elapsed_ms))
            committed = True
            self.turns_committed += 1
            if self.listen.stream_replies:
                self.speculator.ensure_plan(spec, verdict.text)
            await self._run_turn(
                TurnRequest(verdict.text, "spoken"),
                cancel,
                plan=spec.plan_task,
                say_feed=spec.feed() if spec.streams_say else None,
                clock=clock,
            )
        except asyncio.CancelledError:
            spec.cancel()
            if previous is not None:
                previous.stop("user")  # Esc or quit while the transcript was pending: everything stops
            raise
        except Exception as exc:  # the transcription failed (a turn reports its own errors)
            report(self.emit, exc)
        finally:
            resumed = not committed and previous is not None and previous.running
            if resumed:
                self._turn = previous  # nothing new was asked: the running turn goes on
            if committed:
                self.emit(clock.timing())
            if not resumed:
                self._turn_finished(committed)

    async def _run_turn(self, request: TurnRequest, cancel: TurnCancel, **kw) -> None:
        """A committed turn on the one turn path; its errors are already recorded and shown as events."""
        prefill = self.listen.prefill_context
        try:
            await self.assistant.turns.run(
                request,
                cancel,
                **kw,
                acknowledge=self.listen.acknowledge,
                on_recorded=(
                    (lambda: asyncio.get_running_loop().create_task(self.speculator.prefill_context()))
                    if prefill
                    else None
                ),
            )
        except EarshotError:
            pass  # recorded and shown (ErrorEvent) by the turn
        except Exception as exc:
            report(self.emit, exc)

    def _turn_finished(self, committed: bool) -> None:
        if self.segmenter.state == "idle":
            self._set_state("idle")
        # The turn's buffers are free now: give their pages back (off the loop; see runtime/memory.py).
        asyncio.get_running_loop().run_in_executor(None, release_free_memory)
        if committed and self.on_turn_done is not None:
            self.on_turn_done()
        if not self._stop.is_set() and self.listen.prefill_context:
            asyncio.create_task(self.speculator.prefill_context())

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.emit(VoiceState(state, time.monotonic()))
