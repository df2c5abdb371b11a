"""The one way Earshot speaks: a reply sentence by sentence, through one persistent sink.

The sink is the live output stream (audio/io.py `Speaker`, kept open for the session: no per-reply
set-up latency, and every block it plays is the echo canceller's reference) or a file (`FileSink`).
Sentences are synthesised one ahead of playback and queued back to back, so there is no gap between
them; `stop()` cuts the sink at once and says what was heard (whole sentences played, plus the words
of the cut one in proportion to how much of it played); `pause()`/`resume()` hold it where it is while
the voice loop decides whether speech over the reply was the user's.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable

import numpy as np

from ..audio import io
from ..config import VoiceOptions
from ..errors import EarshotError
from ..events import AudioOut, ErrorEvent, Event, PlaybackStarted, PlaybackStopped, ReplySentence
from ..runtime.compute_gate import in_foreground
from ..turn import SayFeed, TurnClock


def device_output(device: str | int | None, voice: VoiceOptions) -> io.Speaker:
    """The live output stream as the voice loop wants it: the configured buffer, dropped on a pause (and,
    with `drop_idle_buffer`, when a reply starts while it holds only silence)."""
    return io.Speaker(
        device,
        latency=voice.output_latency_s,
        flush_on_pause=voice.barge_in.flush_output,
        flush_on_start=voice.drop_idle_buffer,
    )


class Speaker:
    def __init__(self, load_tts: Callable[[], object], sink, emit: Callable[[Event], None]) -> None:
        self._load_tts = load_tts
        self.sink = sink
        self.emit = emit
        self._tts = None
        self._playing: list[tuple[str, object]] = []  # (sentence, Playback) of the current reply
        self.interrupted = False
        self.spoken_log: list[tuple[float, float, str]] = []  # (start, end, text) of earlier replies' sentences
        self._reply_logged = False  # the current reply's sentences are in spoken_log already

    # -- the voice --------------------------------------------------------------------------------
    async def tts(self):
        """The TTS engine, loaded on first need (off the event loop)."""
        if self._tts is None:
            self._tts = await asyncio.to_thread(self._load_tts)
        return self._tts

    async def synthesize_first(self, sentence: str) -> np.ndarray:
        """A reply's first sentence, with the CPU to itself: it is what the user waits for, and LLM
        work pauses meanwhile (runtime/compute_gate.py)."""
        tts = await self.tts()
        return await asyncio.to_thread(functools.partial(in_foreground, tts.synthesize), sentence)

    async def feed_text(self, text: str) -> SayFeed:
        """(sentence, audio) for a known text, each sentence synthesised when it is asked for."""
        tts = await self.tts()
        for sentence in await asyncio.to_thread(tts.sentences, text):
            audio = await asyncio.to_thread(tts.synthesize, sentence)
            if audio.size:
                yield sentence, audio

    # -- speaking ---------------------------------------------------------------------------------
    async def say(self, text: str, clock: TurnClock | None = None) -> str:
        """Speak a text; returns what was heard (all of it unless stopped)."""
        return await self.speak(self.feed_text(text), clock)

    async def speak(self, feed: SayFeed, clock: TurnClock | None = None) -> str:
        """Play sentences as they arrive from `feed`; returns what was heard."""
        tts = await self.tts()
        self._playing = []
        self._reply_logged = False
        self.interrupted = False
        loop = asyncio.get_running_loop()
        index = 0
        try:
            async for sentence, audio in feed:
                if clock is not None and clock.first_audio_ready_s is None:
                    clock.first_audio_ready_s = time.monotonic()
                self.emit(ReplySentence(sentence, index))
                self.emit(AudioOut(audio, tts.sample_rate_hz, index))
                try:
                    pb = self.sink.play(audio, tts.sample_rate_hz, tag=index)
                except EarshotError as exc:
                    # No speaker is not a failed turn: the reply was printed; say why it was not heard.
                    self.emit(ErrorEvent(f"the reply was not spoken: {exc.message}", exc.hint))
                    break
                if clock is not None and clock.first_audio_queued_s is None:
                    clock.first_audio_queued_s = time.monotonic()
                self._playing.append((sentence, pb))
                if index == 0:
                    loop.create_task(self._report_start(pb, index, clock))
                index += 1
            for _, pb in self._playing:
                await asyncio.to_thread(pb.done.wait)
        except asyncio.CancelledError:
            self.stop()
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

    async def _report_start(self, pb, index: int, clock: TurnClock | None) -> None:
        while pb.started_at_s is None and not pb.done.is_set():
            await asyncio.sleep(0.005)
        if pb.started_at_s is not None:
            if clock is not None and clock.first_audio_heard_s is None:
                clock.first_audio_heard_s = pb.started_at_s
            self.emit(PlaybackStarted(pb.started_at_s, index))

    # -- stopping ---------------------------------------------------------------------------------
    def stop(self) -> str:
        """Cut playback now (barge-in, Esc); returns what the user heard of the current reply."""
        self.sink.stop()
        if not self._playing:
            return ""
        self.interrupted = True
        return self._heard()

    def pause(self) -> None:
        self.sink.pause()

    def resume(self) -> None:
        self.sink.resume()

    @property
    def paused(self) -> bool:
        return bool(getattr(self.sink, "paused", False))

    @property
    def busy(self) -> bool:
        """Is anything playing or queued (a reply, the greeting)?"""
        return bool(getattr(self.sink, "busy", False))

    @property
    def live(self) -> bool:
        """A real output stream (its echo comes back into the microphone), not a file."""
        return bool(getattr(self.sink, "live", False))

    @property
    def played_any(self) -> bool:
        """Did the last `speak()` put anything on the sink?"""
        return bool(self._playing)

    # -- what was heard ---------------------------------------------------------------------------
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
        """Move the current reply's played sentences into `spoken_log` (when its `speak()` ends)."""
        self.spoken_log = [*self.spoken_log, *self._spoken_now()]
        self._reply_logged = True
        now = time.monotonic()
        self.spoken_log = [x for x in self.spoken_log if x[1] > now - 30.0]

    def _spoken_now(self) -> list[tuple[float, float, str]]:
        """(start, end, sentence) of the current reply's sentences that have started. A sentence still
        playing (or paused) is heard at least until now; the end is measured on every call, not once at
        its start. The cap: samples handed to the device count as played up to ~1 s before they are heard."""
        now = time.monotonic()
        spans = []
        for sentence, pb in [] if self._reply_logged else self._playing:
            if pb.started_at_s is None:
                continue
            end = min(pb.started_at_s + pb.played_samples / pb.sample_rate_hz, now + 1.0)
            spans.append((pb.started_at_s, end if pb.done.is_set() else max(end, now), sentence))
        return spans

    def recently_spoken(self, around_s: float, margin_s: float = 1.0, tail_s: float = 0.5) -> str:
        """What the speaker played that an echo in speech beginning at `around_s` could be made of: the
        sentences heard from `around_s` − margin − tail (the utterance's pre-roll, the room's
        reverberation) to `around_s` + margin. Empty when nothing was playing at `around_s` (give or
        take `tail_s`): speech that began after the reply ended is the user's, however much it sounds
        like the reply ("Who made you?" after "How are you?" was once dropped as our own voice), and so is
        speech that resembles a sentence that ended earlier ("Tell me more." after the greeting's "Tell
        me what to do …" was, while a later reply ended just before it)."""
        spoken = [*self.spoken_log, *self._spoken_now()]
        if not any(start <= around_s + margin_s and end >= around_s - tail_s for start, end, _ in spoken):
            return ""
        return " ".join(
            t for start, end, t in spoken if end >= around_s - margin_s - tail_s and start <= around_s + margin_s
        )
