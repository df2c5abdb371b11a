"""The assistant on a private PulseAudio server, driven like a person would: for the latency bench
and the integration tests.

`LiveRig` starts the server (audio/pulse.py), runs the real voice loop on its `mic` and `spk`
through sounddevice, speaks recordings into the virtual microphone in real time, records the
speaker's monitor, and keeps every event with the monotonic time it was emitted. Optionally the
speaker is fed back into the microphone through a simulated room (`EchoPath`): the assistant
hears itself exactly as it would through open speakers, and must not answer itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..audio.aec import LockedOffset
from ..audio.pulse import VirtualAudioServer
from ..audio.spectra_line import SpectraLine
from ..events import Event


class EchoPath:
    """Speaker → room → microphone: what the speaker played `delay_ms` ago, through a room impulse
    response, added to the microphone. The delay is fixed, as a real speaker and microphone would have
    it: the monitor sample paired with the feeder's first one is found on the monotonic clock once, and
    from then on each feeder chunk takes the monitor samples that follow the last ones, so the path is
    continuous. Reading the monitor at each chunk's wake-up time instead made the delay wander by the
    thread's jitter (0–1 ms from one 10 ms chunk to the next, repeating or skipping samples) — a harder
    echo than any room makes. The pairing is found again only when it is `resync_ms` off the clock (a
    stall of the recorder or the feeder)."""

    def __init__(self, rir: np.ndarray, gain: float = 1.0, delay_ms: float = 60.0, resync_ms: float = 30.0) -> None:
        self.rir = np.asarray(rir, np.float64) * gain
        self.delay_s = delay_ms / 1000
        self._room: RoomFilter | None = None  # made for the feeder's chunk size at its first chunk
        self.monitor = None
        self.enabled = True
        self._lock = LockedOffset(int(resync_ms * 16))  # feeder index → monitor index

    @property
    def resyncs(self) -> int:
        return self._lock.relocks

    def attach(self, monitor) -> None:
        self.monitor = monitor

    def __call__(self, index: int, n: int) -> np.ndarray:
        x = np.zeros(n)
        mon = self.monitor
        if mon is not None and mon._offset is not None:
            start = self._lock(index, mon.index_at(time.monotonic() - self.delay_s))
            got = mon.audio(start, start + n)
            x[: len(got)] = got
        if self._room is None:
            self._room = RoomFilter(self.rir, n)
        y = self._room(x)
        return (y if self.enabled else np.zeros(n)).astype(np.float32)


class RoomFilter:
    """The room's impulse response applied to a stream of equal blocks: uniformly partitioned overlap-save
    convolution (`audio/spectra_line.py`, the side channel's filter uses the same), the output the same as
    `scipy.signal.lfilter(h, 1, x)` carried across blocks. The rig stands in for the physical world and must
    not take the CPU the assistant is measured on: lfilter's direct form spent ~0.4 ms of every 10 ms block on
    the 0.3 s room (6,080 taps), ~4 % of a core of the two the bench runs on; this costs one 320-point FFT
    pair and a (38 × 161) product per block."""

    def __init__(self, h: np.ndarray, block: int) -> None:
        h = np.asarray(h, np.float64)
        parts = -(-len(h) // block)
        padded = np.zeros(parts * block)
        padded[: len(h)] = h
        # Each partition of the response, zero-padded to two blocks, as a spectrum.
        self._h = np.fft.rfft(padded.reshape(parts, block), 2 * block, axis=1)
        self._x = SpectraLine(parts, block)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._x.push(x)  # refuses a block of another size
        return self._x.filter(self._h)


@dataclass
class Stamped:
    at_s: float
    event: Event


@dataclass
class LiveRig:
    config: object
    session: object
    speak: bool = True
    echo: EchoPath | None = None
    llm_name: str | None = None
    greet: bool = True  # start as `earshot listen` does: the greeting (adapts the echo canceller)
    naive: bool = False  # the naive sequential baseline (bench/naive.py) instead of the voice loop's own
    events: list[Stamped] = field(default_factory=list)
    on_event: Callable[[Event], None] | None = None

    async def __aenter__(self) -> LiveRig:
        from ..audio import io
        from ..pipeline import Assistant
        from ..voice.loop import VoiceLoop
        from ..voice.speaker import device_output
        from ..voice.warm_up import greet, warm_up
        from .naive import WholeReplySpeaker, full_window_transcriber, naive_options

        self.server = VirtualAudioServer(echo=self.echo)
        self.server.start()
        if self.echo is not None:
            self.echo.attach(self.server.monitor)
        io.refresh_devices()
        voice = naive_options(self.config.voice) if self.naive else self.config.voice
        self.mic = io.MicStream(voice.input_device)
        self.assistant = Assistant(self.config, self.session, emit=self._emit, llm_name=self.llm_name)
        sink = device_output(self.config.speech.output_device, voice) if self.speak else None
        self.speaker = (
            None
            if sink is None
            else (
                WholeReplySpeaker(self.assistant.tts, sink, self._emit) if self.naive else self.assistant.speaker(sink)
            )
        )
        self.loop = VoiceLoop(
            self.assistant,
            self.mic,
            self.speaker,
            voice,
            self._emit,
            transcribe=full_window_transcriber(self.assistant) if self.naive else None,
        )
        await warm_up(self.loop)
        self._task = asyncio.create_task(self.loop.run())
        await asyncio.sleep(0.5)  # streams open, AEC sees some silence
        if self.greet:
            await greet(self.loop)
            await self.idle(quiet_s=0.3)
        return self

    async def __aexit__(self, *exc) -> None:
        self.loop.stop()
        try:
            await asyncio.wait_for(self._task, timeout=30)
        except (TimeoutError, Exception):
            self._task.cancel()
        self.server.stop()

    def _emit(self, event: Event) -> None:
        self.events.append(Stamped(time.monotonic(), event))
        if self.on_event is not None:
            self.on_event(event)

    # -- driving ----------------------------------------------------------------------------------
    def say(self, audio_16k: np.ndarray, delay_s: float = 0.0) -> int:
        """Speak into the virtual microphone (real time); returns the feeder index of sample 0."""
        return self.server.feeder.play(audio_16k, delay_s)

    def mic_time(self, index: int) -> float:
        return self.server.feeder.time_of(index)

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout_s: float = 120.0, since: int = 0
    ) -> Stamped | None:
        """The first event (from index `since`) matching `predicate`, waiting up to `timeout_s`."""
        end = time.monotonic() + timeout_s
        i = since
        while time.monotonic() < end:
            while i < len(self.events):
                if predicate(self.events[i].event):
                    return self.events[i]
                i += 1
            await asyncio.sleep(0.02)
        return None

    async def idle(self, quiet_s: float = 0.5, timeout_s: float = 120.0) -> None:
        """Wait until the loop is idle, the speaker quiet and the mic feeder done, for `quiet_s`."""
        end = time.monotonic() + timeout_s
        calm_since = None
        while time.monotonic() < end:
            busy = (
                (self.loop.state not in ("idle", ""))
                or (self.speaker is not None and self.speaker.busy)
                or not self.server.feeder.idle()
                or self.loop.running_turn is not None
            )
            if busy:
                calm_since = None
            elif calm_since is None:
                calm_since = time.monotonic()
            elif time.monotonic() - calm_since >= quiet_s:
                return
            await asyncio.sleep(0.02)

    def of_type(self, kind, since: int = 0) -> list[Stamped]:
        return [s for s in self.events[since:] if isinstance(s.event, kind)]

    # -- the speaker monitor ------------------------------------------------------------------------
    def monitor_audio(self, start_s: float, end_s: float) -> tuple[np.ndarray, float]:
        """What the speaker played between two monotonic times, and the time of its first sample."""
        mon = self.server.monitor
        a, b = max(0, mon.index_at(start_s)), max(0, mon.index_at(end_s))
        return mon.audio(a, b), mon.time_of(a)


def first_audible(audio: np.ndarray, threshold_dbfs: float = -40.0, window: int = 80) -> int | None:
    """Index of the first 5 ms window whose RMS exceeds the threshold (the reply's first audible sample)."""
    if audio.size < window:
        return None
    n = len(audio) // window
    rms = np.sqrt(np.mean(audio[: n * window].reshape(n, window).astype(np.float64) ** 2, axis=1))
    loud = np.nonzero(rms > 10 ** (threshold_dbfs / 20))[0]
    if not len(loud):
        return None
    i = int(loud[0]) * window
    seg = np.abs(audio[i : i + window])
    over = np.nonzero(seg > 10 ** (threshold_dbfs / 20))[0]
    return i + (int(over[0]) if len(over) else 0)


def last_audible(audio: np.ndarray, threshold_dbfs: float = -40.0, window: int = 80) -> int | None:
    rev = first_audible(audio[::-1].copy(), threshold_dbfs, window)
    return None if rev is None else len(audio) - 1 - rev


def speech_bounds(audio: np.ndarray, threshold_dbfs: float = -40.0) -> tuple[int, int]:
    """First and last audible sample of a recording (where the speech truly starts and ends)."""
    a = first_audible(audio, threshold_dbfs)
    b = last_audible(audio, threshold_dbfs)
    if a is None or b is None:
        return 0, len(audio)
    return a, b
