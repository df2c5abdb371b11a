"""Acoustic echo cancellation: the microphone minus what our own speaker put into it.

Backends (all WebRTC's AEC3 inside, behind one `EchoCanceller` interface, 10 ms frames at 16 kHz):

- "livekit": `livekit.rtc.AudioProcessingModule` (Apache-2.0, prebuilt wheels, `pip install
  'earshot[voice]'`). The default: measured ERLE 23–33 dB on simulated rooms (`earshot bench aec`).
- "webrtc-apm": `aec-audio-processing` (BSD-3-Clause, builds WebRTC from source: needs meson,
  swig and ~20+ minutes on 2 cores). Used when installed and chosen.
- "off": passthrough (files, tests of the raw path).

Alignment: the speaker hands every block it plays (sound or silence) to `ReferenceBuffer.push`
with the time it will be heard; the capture side pulls the reference up to each mic frame's
capture time before processing it, so render and capture reach AEC3 in real-time order. AEC3's own
delay estimator absorbs the remaining acoustic and server delay.
"""

from __future__ import annotations

import threading
from typing import NamedTuple, Protocol

import numpy as np

from ..errors import EarshotError
from .echo_delay import PairingCheck
from .linear_echo import LinearEcho

SAMPLE_RATE_HZ = 16_000
AEC_FRAME = 160  # 10 ms: the only frame size the WebRTC APM takes

BACKENDS = ("livekit", "webrtc-apm")
INSTALL_HINT = "pip install 'earshot[voice]' (livekit's WebRTC audio processing), or set voice.echo.backend = \"off\""


class EchoCanceller(Protocol):
    name: str

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """One 10 ms frame: `reference` is what the speaker played for the same 10 ms."""
        ...


def _to_i16(x: np.ndarray) -> np.ndarray:
    return (np.clip(x, -1.0, 1.0) * 32767).astype(np.int16)


class PassThrough:
    name = "off"

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        return mic


class LiveKitAec:
    """WebRTC AEC3 through livekit's FFI (the high-pass filter removes DC/rumble that slows adaptation)."""

    name = "livekit"

    def __init__(self, stream_delay_ms: int = 0) -> None:
        try:
            from livekit import rtc
        except ImportError as exc:
            raise EarshotError("echo cancellation needs the livekit package", INSTALL_HINT) from exc
        self._rtc = rtc
        self._apm = rtc.AudioProcessingModule(
            echo_cancellation=True, noise_suppression=False, high_pass_filter=True, auto_gain_control=False
        )
        self._delay = int(stream_delay_ms)

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        rtc = self._rtc
        ref = rtc.AudioFrame(_to_i16(reference).tobytes(), SAMPLE_RATE_HZ, 1, AEC_FRAME)
        self._apm.process_reverse_stream(ref)
        if self._delay:
            self._apm.set_stream_delay_ms(self._delay)
        frame = rtc.AudioFrame(_to_i16(mic).tobytes(), SAMPLE_RATE_HZ, 1, AEC_FRAME)
        self._apm.process_stream(frame)
        return np.frombuffer(bytes(frame.data), dtype=np.int16).astype(np.float32) / 32768.0


class WebRtcApmAec:
    """WebRTC AEC3 through the aec-audio-processing SWIG binding (M131 webrtc-audio-processing 2.1)."""

    name = "webrtc-apm"

    def __init__(self, stream_delay_ms: int = 0) -> None:
        try:
            from aec_audio_processing import AudioProcessor
        except ImportError as exc:
            raise EarshotError(
                "the webrtc-apm echo canceller needs aec-audio-processing",
                "pip install aec-audio-processing (builds from source: needs meson and swig)",
            ) from exc
        self._ap = AudioProcessor(enable_aec=True, enable_ns=False, enable_agc=False, enable_vad=False)
        self._ap.set_stream_format(SAMPLE_RATE_HZ, 1, SAMPLE_RATE_HZ, 1)
        self._ap.set_reverse_stream_format(SAMPLE_RATE_HZ, 1)
        self._ap.set_stream_delay(int(stream_delay_ms))

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        self._ap.process_reverse_stream(_to_i16(reference).tobytes())
        out = self._ap.process_stream(_to_i16(mic).tobytes())
        return np.frombuffer(out, dtype=np.int16).astype(np.float32) / 32768.0


def available_backends() -> list[str]:
    found = []
    for name in BACKENDS:
        try:
            load_echo_canceller(name)
            found.append(name)
        except EarshotError:
            pass
    return found


def load_echo_canceller(backend: str = "auto", stream_delay_ms: int = 0) -> EchoCanceller:
    """ "auto": livekit when installed, else webrtc-apm, else passthrough (the loop then relies on
    the stricter barge-in threshold alone, and says so in `earshot doctor`)."""
    if backend == "off":
        return PassThrough()
    if backend == "livekit":
        return LiveKitAec(stream_delay_ms)
    if backend == "webrtc-apm":
        return WebRtcApmAec(stream_delay_ms)
    if backend == "auto":
        for name in BACKENDS:
            try:
                return load_echo_canceller(name, stream_delay_ms)
            except EarshotError:
                continue
        return PassThrough()
    raise EarshotError(f"unknown echo canceller {backend!r}", "use auto, livekit, webrtc-apm or off")


class Timeline:
    """Sample index ↔ monotonic time for a stream whose blocks arrive with jittery timestamps.

    Each block's timestamp is late by however long the callback waited; the earliest-looking one
    is closest to the truth, so the offset is the minimum of (time − samples/rate) over the last
    `window_s`. Render and capture mapped this way pair up at a constant offset, which is what
    AEC3's linear filter needs: pairing by arrival order instead shifted the pair by ±10 ms with
    every late callback (measured ERLE fell from ~30 dB to ~5 dB). The window (rather than an
    all-time minimum) lets the mapping follow a real jump — an output underrun delays every later
    sample — within a couple of seconds instead of drifting further from the truth each time."""

    def __init__(self, rate_hz: int = SAMPLE_RATE_HZ, window_s: float = 2.0) -> None:
        import collections

        self.rate = rate_hz
        self.count = 0
        self.offset: float | None = None
        self.window_s = window_s
        self._obs: collections.deque[tuple[float, float]] = collections.deque()

    def stamp(self, n_new: int, end_time_s: float) -> None:
        self.count += n_new
        observed = end_time_s - self.count / self.rate
        obs = self._obs
        # Monotonic deque: the front is the window's minimum.
        while obs and obs[-1][1] >= observed:
            obs.pop()
        obs.append((end_time_s, observed))
        while obs and obs[0][0] < end_time_s - self.window_s:
            obs.popleft()
        self.offset = obs[0][1]

    def time_of(self, index: int) -> float:
        return (self.offset or 0.0) + index / self.rate

    def index_at(self, t: float) -> int:
        return int(round((t - (self.offset or t)) * self.rate))


class ReferenceBuffer:
    """The far-end signal on the monotonic clock: blocks pushed by the speaker with the time their
    first sample is heard; read back by time, in 10 ms frames, by the capture side."""

    def __init__(self, max_s: float = 4.0) -> None:
        self._lock = threading.Lock()
        self._ring = np.zeros(int(max_s * SAMPLE_RATE_HZ), np.float32)
        self.timeline = Timeline()
        self._gap = False  # retracted: the next block starts after a stretch of nothing played
        self.restarts = 0  # blocks placed after such a stretch (EchoStage checks its pairing after one)

    def push(self, block: np.ndarray, heard_at_s: float) -> None:
        block = np.asarray(block, np.float32)
        n = len(block)
        if n == 0:
            return
        with self._lock:
            if self._gap and self.timeline.offset is not None:
                # The stream stood still: silence up to where the old mapping puts this block. That mapping
                # is the lower envelope of the clock's lateness, so the padding is never too short (which
                # would keep the old mapping, the window's minimum, for seconds); from this block on the
                # envelope follows the restarted stream.
                pad = self.timeline.index_at(heard_at_s) - self.timeline.count
                if pad > 0:
                    self._write(np.zeros(min(pad, len(self._ring)), np.float32))
                    self.timeline.count += pad - min(pad, len(self._ring))
                self.restarts += 1
            self._gap = False
            self._write(block)
            self.timeline.stamp(0, heard_at_s + n / SAMPLE_RATE_HZ)

    def retract(self, after_s: float) -> None:
        """What was pushed to be heard after `after_s` was never played (the speaker dropped its buffer):
        it is taken back, and the next block is placed by its own time."""
        with self._lock:
            if self.timeline.offset is None:
                return
            keep = max(self.timeline.index_at(after_s), self.timeline.count - len(self._ring))
            if keep < self.timeline.count:
                idx = np.arange(keep, self.timeline.count) % len(self._ring)
                self._ring[idx] = 0.0
                self.timeline.count = keep
            self._gap = True

    def _write(self, block: np.ndarray) -> None:
        idx = (self.timeline.count + np.arange(len(block))) % len(self._ring)
        self._ring[idx] = block
        self.timeline.count += len(block)

    def frame_ending_at(self, t_end: float, n: int = AEC_FRAME) -> np.ndarray:
        """The `n` reference samples heard just before `t_end` (silence where nothing was played)."""
        with self._lock:
            if self.timeline.offset is None:
                return np.zeros(n, np.float32)
            return self._frame_ending(self.timeline.index_at(t_end), n)

    def index_at(self, t: float) -> int | None:
        """The reference sample heard at `t` (None before anything was pushed)."""
        with self._lock:
            return None if self.timeline.offset is None else self.timeline.index_at(t)

    def frame_ending_at_index(self, end: int, n: int = AEC_FRAME) -> np.ndarray:
        with self._lock:
            return self._frame_ending(end, n)

    def _frame_ending(self, end: int, n: int) -> np.ndarray:
        lo, hi = end - n, end
        out = np.zeros(n, np.float32)
        valid_lo = max(lo, self.timeline.count - len(self._ring), 0)
        valid_hi = min(hi, self.timeline.count)
        if valid_lo < valid_hi:
            idx = np.arange(valid_lo, valid_hi) % len(self._ring)
            out[valid_lo - lo : valid_hi - lo] = self._ring[idx]
        return out


class LockedOffset:
    """A fixed offset between two sample counters, found again only when a clock says it is more than
    `relock` samples off (a stall or an underrun moved one stream): a linear echo path must not wander with
    the small re-mappings of the clocks. Used by `EchoStage` and the bench's simulated room."""

    def __init__(self, relock: int) -> None:
        self.relock = relock
        self.shift: int | None = None  # other index − this index
        self.relocks = 0
        self.bias = 0  # how far the signals put the pairing from the clock's (see `move`)

    def __call__(self, index: int, by_clock: int) -> int:
        """The other stream's index paired with `index`, given where the clock puts it (`by_clock`)."""
        by_clock += self.bias
        if self.shift is None or abs(index + self.shift - by_clock) > self.relock:
            self.relocks += self.shift is not None
            self.shift = by_clock - index
        return index + self.shift

    def move(self, samples: int) -> None:
        """Keep the pairing, moved by `samples` (a check by the signals found it off)."""
        if self.shift is not None:
            self.shift += samples
            self.bias += samples  # the clock is that far off: no relock for keeping it


class EchoFrames(NamedTuple):
    """What `EchoStage` returns for the whole 10 ms frames a block completed, all the same length."""

    cleaned: np.ndarray  # AEC3's output
    reference: np.ndarray  # the reference heard at the same moments
    linear: np.ndarray | None = None  # the linear side channel's residual (None without one)
    estimate: np.ndarray | None = None  # …and its estimate of the echo (microphone minus residual)


class EchoStage:
    """Mic blocks in, echo-cancelled 10 ms frames out, each paired with the reference heard at the
    same moment (both streams mapped to the monotonic clock by their Timelines).

    With `linear` (a `LinearEcho`), the same microphone frames are also cancelled by the linear filter
    alone — the barge-in side channel (audio/frames.py). That filter needs the reference at a fixed
    sample offset: the Timelines' small re-mappings (fractions of a millisecond, which AEC3's own delay
    estimator absorbs) would undo its convergence, so its pairing is locked and found again only when the
    clocks disagree by more than `relock_ms` (an underrun or a stall moved one stream). After such a relock,
    and after the speaker dropped its buffer and restarted, the clocks' answer is checked by the signals
    (audio/echo_delay.py) and the filter holds still until it is."""

    def __init__(
        self,
        canceller: EchoCanceller,
        reference: ReferenceBuffer | None,
        linear: LinearEcho | None = None,
        relock_ms: float = 40.0,
    ) -> None:
        self.canceller = canceller
        self.reference = reference
        self.linear = linear if reference is not None else None
        self._mic = np.zeros(0, np.float32)
        self._timeline = Timeline()
        self._done = 0  # capture samples already processed
        self._lock = LockedOffset(int(relock_ms * SAMPLE_RATE_HZ / 1000))  # capture → reference index
        self._pairing = PairingCheck()
        self._events = (0, 0)  # (speaker restarts, relocks) the pairing was last checked after

    def __call__(self, mic: np.ndarray, captured_at_s: float) -> EchoFrames:
        """The whole 10 ms frames available, cancelled; the rest waits for more."""
        mic = np.asarray(mic, np.float32)
        self._timeline.stamp(len(mic), captured_at_s)
        self._mic = np.concatenate([self._mic, mic])
        n = len(self._mic) // AEC_FRAME
        if n == 0:
            return EchoFrames(np.zeros(0, np.float32), np.zeros(0, np.float32))
        out, refs, lin, est = [], [], [], []
        for i in range(n):
            frame = self._mic[i * AEC_FRAME : (i + 1) * AEC_FRAME]
            end = self._done + (i + 1) * AEC_FRAME
            t_end = self._timeline.time_of(end)
            ref = (
                self.reference.frame_ending_at(t_end) if self.reference is not None else np.zeros(AEC_FRAME, np.float32)
            )
            refs.append(ref)
            out.append(self.canceller.process(frame, ref) if self.canceller.name != "off" else frame)
            if self.linear is not None:
                locked = self._locked_reference(end, t_end)
                residual = self.linear.process(frame, locked)
                lin.append(residual)
                est.append(frame - residual)
                self._check_pairing(frame, locked)
        self._mic = self._mic[n * AEC_FRAME :]
        self._done += n * AEC_FRAME
        if not lin:
            return EchoFrames(np.concatenate(out), np.concatenate(refs))
        return EchoFrames(np.concatenate(out), np.concatenate(refs), np.concatenate(lin), np.concatenate(est))

    def _locked_reference(self, end: int, t_end: float) -> np.ndarray:
        by_clock = self.reference.index_at(t_end)
        if by_clock is None:
            return np.zeros(AEC_FRAME, np.float32)
        return self.reference.frame_ending_at_index(self._lock(end, by_clock))

    def _check_pairing(self, mic: np.ndarray, ref: np.ndarray) -> None:
        events = (self.reference.restarts, self._lock.relocks)
        if events != self._events:
            self._events = events
            self._pairing.event()
            self.linear.forget()
        move = self._pairing.push(mic, ref, self.linear.sounding(ref), self.linear.trusted())
        if move:
            self._lock.move(move)
            self.linear.forget()
        # While the pairing is in doubt the filter must not learn the path a few samples off; it is trusted
        # only as far as it is measured to cancel with it (LinearEcho.trusted).
        self.linear.frozen = self._pairing.pending

    @property
    def relocks(self) -> int:
        return self._lock.relocks


def erle_db(mic: np.ndarray, cleaned: np.ndarray) -> float:
    """Echo return loss enhancement: how much quieter the echo is after cancellation (echo-only input)."""
    num = float(np.sum(np.square(mic, dtype=np.float64))) + 1e-12
    den = float(np.sum(np.square(cleaned, dtype=np.float64))) + 1e-12
    return 10 * np.log10(num / den)


class EchoGate:
    """A double-talk check on top of the canceller: is this frame louder than the echo left over?

    It tracks how much of the reference survives cancellation (the residual echo return, in dB,
    as an upper envelope over frames where the VAD hears no speech) and calls a frame "near-end"
    only when the cleaned level exceeds reference level + residual return + margin. When the
    canceller is still adapting (or absent) the residual return is high and barge-in needs a
    louder voice; once it has converged, normal speech interrupts.

    The first moments of every reply are different: the canceller lets ~150–200 ms of echo through
    while it re-aligns to a reference that starts after silence (measured through PulseAudio: the
    echo came out 1–2 dB under the reference, silero heard speech in it, and the assistant
    interrupted itself). So for `onset_guard_frames` after the speaker starts again, the residual
    return is taken to be at least `onset_return_db`."""

    def __init__(
        self,
        margin_db: float = 6.0,
        initial_return_db: float = 0.0,
        onset_guard_frames: int = 10,
        onset_return_db: float = 0.0,
        release_db_per_frame: float = 0.15,
    ) -> None:
        self.margin_db = margin_db
        self.return_db = initial_return_db  # start pessimistic: assume nothing is cancelled
        self._attack = 0.5  # rise fast toward a louder residual
        self._release_db_per_frame = release_db_per_frame  # fall slowly (0.15: ≈ 5 dB per second at 32 ms frames)
        self._creep_db_per_frame = 0.15  # rise this slowly past the margin (a lasting change)
        self.onset_guard_frames = onset_guard_frames  # 10 frames of 32 ms: 320 ms
        self.onset_return_db = onset_return_db
        self._playing_frames = 0  # frames since the speaker started after silence

    def update(self, level_dbfs: float, reference_dbfs: float, speech_prob: float) -> None:
        """Called for every frame (the reference is an envelope over ~0.5 s, so a pause between
        sentences does not count as the speaker starting again)."""
        if reference_dbfs < -60.0:
            self._playing_frames = 0
            return  # nothing playing: nothing to learn
        self._playing_frames += 1
        if speech_prob >= 0.3 or self._speaker_starting:
            return  # maybe the user, or the canceller re-aligning: do not learn
        observed = level_dbfs - reference_dbfs
        if observed > self.return_db + self.margin_db:
            # A jump past the margin is what a user's first (unvoiced) sounds look like: freeze, as a
            # Geigel double-talk detector does, and creep up only if it lasts (a worse echo path).
            self.return_db += self._creep_db_per_frame
        elif observed > self.return_db:
            self.return_db += self._attack * (observed - self.return_db)
        else:
            self.return_db = max(observed, self.return_db - self._release_db_per_frame)

    def near_end(self, level_dbfs: float, reference_dbfs: float) -> bool:
        if reference_dbfs < -60.0:
            return True  # the speaker is silent: anything heard is the room
        return_db = max(self.return_db, self.onset_return_db) if self._speaker_starting else self.return_db
        return level_dbfs > reference_dbfs + return_db + self.margin_db

    @property
    def _speaker_starting(self) -> bool:
        """Within the guard after the speaker started again (the canceller is re-aligning)."""
        return self._playing_frames <= self.onset_guard_frames
