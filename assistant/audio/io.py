"""The hardware edge: the only module that touches sounddevice.

Everything else takes frames or files. This module gives:

- `MicStream`: microphone blocks, resampled to 16 kHz mono (the rate of the VAD and the ASR),
  each stamped with the monotonic time its last sample was captured;
- `Speaker`: one output stream kept open for the whole session (no per-reply stream set-up
  latency), playing queued arrays, stoppable at once (barge-in), reporting what it actually
  played, and handing every block it plays to the echo canceller as the far-end reference;
- `FileSource` / `FileSink`: the same interfaces over files, so `earshot listen --input FILE.wav`
  and the tests drive the identical code path headless;
- `Player`: the simple blocking player used for one-shot spoken replies (`earshot ask`).

Devices are chosen by index or by (part of) their name. Errors say which of the three usual
problems it is — no device, device busy, rate unsupported — and what to do.
"""

from __future__ import annotations

import collections
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import EarshotError

MODEL_RATE_HZ = 16_000  # what VAD, AEC and ASR consume


def _sd():
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        raise EarshotError(
            f"audio devices are unavailable: {exc}",
            "install PortAudio (Debian: apt-get install libportaudio2), or use --no-speak / --input FILE",
        ) from exc
    _quiet_alsa()
    return sd


_alsa_handler = None


def _quiet_alsa() -> None:
    """Keep ALSA's own messages ("underrun occurred", written straight to stderr from the audio
    thread) off the terminal: in the TUI they drew over the screen. Underruns are counted instead
    (Speaker.underruns; `earshot bench latency` reports them)."""
    global _alsa_handler
    if _alsa_handler is not None:
        return
    import ctypes
    import ctypes.util

    try:
        lib = ctypes.CDLL(ctypes.util.find_library("asound") or "libasound.so.2")
    except OSError:
        _alsa_handler = False  # not ALSA (macOS, Windows): nothing to quiet
        return
    handler_type = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
    _alsa_handler = handler_type(lambda *args: None)  # kept referenced: ALSA calls it from its thread
    lib.snd_lib_error_set_handler(_alsa_handler)


def refresh_devices() -> None:
    """Re-scan devices: PortAudio enumerates once at start-up, so a sound server started later
    (the benchmark's private PulseAudio) is invisible until it is re-initialised."""
    sd = _sd()
    sd._terminate()
    sd._initialize()


def list_devices() -> list[dict]:
    """Every input/output device PortAudio sees, for `earshot doctor` and `earshot listen --list-devices`."""
    try:
        sd = _sd()
        return [dict(d, index=i) for i, d in enumerate(sd.query_devices())]
    except Exception:
        return []


def resolve_device(device: str | int | None, kind: str):
    """A device index by index or by (part of) its name; None is the default device of `kind`
    ("input" or "output"). Raises EarshotError when none exists or nothing matches."""
    sd = _sd()
    channels_key = "max_input_channels" if kind == "input" else "max_output_channels"
    hint = "`earshot listen --list-devices` lists them" if kind == "input" else "`earshot doctor` lists the devices"
    if device is None or device == "":
        try:
            info = sd.query_devices(kind=kind)
        except Exception as exc:
            what = "microphone" if kind == "input" else "audio output device"
            fix = "connect one, or use --input FILE.wav" if kind == "input" else "connect one, or use --no-speak"
            raise EarshotError(f"there is no {what}", fix) from exc
        return info.get("index") if isinstance(info, dict) else None
    devices = sd.query_devices()
    if isinstance(device, int) or str(device).strip().isdigit():
        index = int(device)
        if not 0 <= index < len(devices) or devices[index][channels_key] <= 0:
            raise EarshotError(f"there is no {kind} device with index {index}", hint)
        return index
    matches = [i for i, d in enumerate(devices) if str(device).lower() in d["name"].lower() and d[channels_key] > 0]
    if not matches:
        raise EarshotError(f"no {kind} device matches {device!r}", hint)
    return matches[0]


# Kept for callers of the first version of this module.
def resolve_output_device(device: str | int | None):
    return resolve_device(device, "output")


# A stream's callback is Python: it waits for the GIL while another thread runs Python code, which hands it over
# only every `sys.getswitchinterval()` (5 ms by default). On two busy cores that made the callbacks late — the
# speaker's by 6.6 ms at the 99th percentile and 22 ms at the 99.9th over a commands-only latency bench, the
# microphone's by 2.1 / 11.5 ms — and their arrival times are what pair the echo reference with the microphone
# (audio/aec.py). At 1 ms: 4.5 / 10.3 and 1.4 / 5.7 ms, and barge-in within 200 ms went from 6 to 11 of 15
# phrases over three commands-only runs each (README, "Barge-in", item 9; the full run after still missed some).
CALLBACK_SWITCH_INTERVAL_S = 0.001


def _start_stream(stream_class, direction: str, owner, device, blocksize: int, callback):
    """A started mono float32 stream of `owner`'s rate and latency, or the device error that says what to do.
    While a live stream runs, other threads hand its callback the GIL within `CALLBACK_SWITCH_INTERVAL_S`."""
    if sys.getswitchinterval() > CALLBACK_SWITCH_INTERVAL_S:
        sys.setswitchinterval(CALLBACK_SWITCH_INTERVAL_S)
    try:
        stream = stream_class(
            samplerate=owner.rate_hz,
            channels=1,
            dtype="float32",
            device=device,
            blocksize=blocksize,
            latency=owner.latency,
            callback=callback,
        )
        stream.start()
    except Exception as exc:
        raise _device_error(exc, owner.device, owner.rate_hz, direction) from exc
    return stream


def _device_error(exc: Exception, device, rate: int, kind: str) -> EarshotError:
    """Turn a PortAudio error into one of: busy, unsupported rate, no device — with the fix."""
    text = str(exc)
    low = text.lower()
    name = f"device {device!r}" if device is not None else f"the default {kind} device"
    if "invalid sample rate" in low or "-9997" in low or "sample rate" in low:
        return EarshotError(
            f"{name} does not support {rate} Hz ({text})",
            "pick another device, or let Earshot resample by leaving the rate unset",
        )
    if "busy" in low or "unavailable" in low or "-9985" in low or "-9993" in low:
        return EarshotError(f"{name} is busy ({text})", "close the program that is using it, or pick another device")
    if "no default" in low or "-9996" in low or "invalid device" in low or "-9998" in low:
        return EarshotError(
            f"there is no usable {kind} device ({text})", "connect one, or use --input FILE.wav / --no-speak"
        )
    return EarshotError(f"cannot open {name}: {text}", "check the device with `earshot doctor`")


def _open_rate(sd, device, kind: str, wanted: int) -> int:
    """The wanted rate if the device takes it, else its native rate (we resample ourselves)."""
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device, samplerate=wanted, channels=1, dtype="float32")
        return wanted
    except Exception:
        info = sd.query_devices(device, kind=kind) if device is None else sd.query_devices(device)
        native = int(info["default_samplerate"])
        try:
            check(device=device, samplerate=native, channels=1, dtype="float32")
        except Exception as exc:
            raise _device_error(exc, device, native, kind) from exc
        return native


class _StreamResampler:
    """Streaming resampler (soxr keeps state across blocks, so block edges leave no clicks)."""

    def __init__(self, from_hz: int, to_hz: int) -> None:
        self.identity = from_hz == to_hz
        if not self.identity:
            import soxr

            self._rs = soxr.ResampleStream(from_hz, to_hz, 1, dtype="float32", quality="HQ")

    def __call__(self, block: np.ndarray, last: bool = False) -> np.ndarray:
        if self.identity:
            return block
        return self._rs.resample_chunk(np.ascontiguousarray(block, dtype=np.float32), last=last)


# ---------------------------------------------------------------------------------------------
# sources: blocks of 16 kHz mono float32 with the monotonic time of their last sample
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MicBlock:
    audio: np.ndarray  # float32 mono, 16 kHz
    end_s: float  # monotonic time at which the last sample was captured


class MicStream:
    """Microphone capture. `read(timeout)` returns the next MicBlock (or None on timeout)."""

    live = True

    def __init__(self, device: str | int | None = None, block_ms: int = 10, latency: str | float = "low") -> None:
        self.device = device
        self.block_ms = block_ms
        self.latency = latency
        self._queue: queue.Queue[MicBlock] = queue.Queue()
        self._stream = None
        self.rate_hz = MODEL_RATE_HZ
        self.overflows = 0

    def start(self) -> MicStream:
        sd = _sd()
        device = resolve_device(self.device, "input")
        self.rate_hz = _open_rate(sd, device, "input", MODEL_RATE_HZ)
        resample = _StreamResampler(self.rate_hz, MODEL_RATE_HZ)
        blocksize = int(self.rate_hz * self.block_ms / 1000)

        def callback(indata, frames, t, status):
            # Stamped on arrival: PortAudio's ADC times through the ALSA pulse plugin were measured
            # to be off by ~15 ms, arrival within ~3 ms of the sample entering the server.
            now = time.monotonic()
            if status.input_overflow:
                self.overflows += 1
            mono = indata[:, 0] if indata.shape[1] == 1 else indata.mean(axis=1)
            out = resample(mono.astype(np.float32, copy=True))
            if out.size:
                self._queue.put(MicBlock(out, now))

        self._stream = _start_stream(sd.InputStream, "input", self, device, blocksize, callback)
        return self

    @property
    def input_latency_s(self) -> float:
        return float(self._stream.latency) if self._stream is not None else 0.0

    def read(self, timeout: float | None = 0.5) -> MicBlock | None:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.close()
            finally:
                self._stream = None


class FileSource:
    """A recording played into the voice loop as if it came from a microphone.

    Unpaced by default (blocks come as fast as they are read; the loop counts time in samples, so
    segmentation is identical). A second of silence is appended so the last utterance ends."""

    live = False

    def __init__(self, path: Path, block_ms: int = 10, tail_silence_s: float = 1.5, paced: bool = False) -> None:
        from .files import load_audio

        self.path = Path(path)
        audio, _ = load_audio(self.path, sample_rate_hz=MODEL_RATE_HZ)
        self.audio = np.concatenate([audio, np.zeros(int(tail_silence_s * MODEL_RATE_HZ), np.float32)])
        self.block = int(MODEL_RATE_HZ * block_ms / 1000)
        self.paced = paced
        self._pos = 0
        self._t0 = 0.0

    def start(self) -> FileSource:
        self._t0 = time.monotonic()
        return self

    @property
    def finished(self) -> bool:
        return self._pos >= len(self.audio)

    def read(self, timeout: float | None = 0.5) -> MicBlock | None:
        if self.finished:
            if timeout:
                time.sleep(min(timeout, 0.01))
            return None
        chunk = self.audio[self._pos : self._pos + self.block]
        self._pos += len(chunk)
        end_s = self._t0 + self._pos / MODEL_RATE_HZ
        if self.paced:
            delay = end_s - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return MicBlock(chunk, end_s)

    def close(self) -> None:
        self._pos = len(self.audio)


class ArraySource(FileSource):
    """An in-memory signal as a source (tests)."""

    def __init__(self, audio: np.ndarray, block_ms: int = 10, tail_silence_s: float = 1.5, paced: bool = False) -> None:
        self.path = Path("<array>")
        self.audio = np.concatenate(
            [np.asarray(audio, np.float32), np.zeros(int(tail_silence_s * MODEL_RATE_HZ), np.float32)]
        )
        self.block = int(MODEL_RATE_HZ * block_ms / 1000)
        self.paced = paced
        self._pos = 0
        self._t0 = 0.0


# ---------------------------------------------------------------------------------------------
# sinks: queued playback with stop, progress, and the far-end reference for the echo canceller
# ---------------------------------------------------------------------------------------------
@dataclass
class Playback:
    """One queued array. `played_samples` counts what reached the device; `done` is set when it
    finished or was stopped (then `stopped` is True)."""

    audio: np.ndarray
    sample_rate_hz: int
    tag: object = None
    played_samples: int = 0
    started_at_s: float | None = None  # monotonic time its first sample is heard
    done: threading.Event = field(default_factory=threading.Event)
    stopped: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate_hz

    @property
    def fraction_played(self) -> float:
        return min(1.0, self.played_samples / max(1, len(self.audio)))


class ReferenceSink(Protocol):
    """Where the speaker hands what it plays (audio/aec.py ReferenceBuffer)."""

    def push(self, block: np.ndarray, heard_at_s: float) -> None: ...  # 16 kHz, monotonic time heard

    def retract(self, after_s: float) -> None: ...  # what was to be heard after this was never played


class Speaker:
    """A persistent output stream. `play()` queues audio and returns a Playback at once;
    `stop()` drops everything queued and silences the stream within one block (barge-in).

    Every block written — sound or silence — goes to `reference` at 16 kHz with the time it will be
    heard, so the echo canceller sees a continuous far-end signal on the capture clock.

    With `flush_on_pause`, `pause()` and `stop()` also drop what the device has buffered: the output
    latency (60–100 ms through PulseAudio) of reply already written would otherwise still be heard
    after the user spoke over it — half of the barge-in budget. The stream is aborted (PortAudio drops
    its buffer; ALSA's pulse plugin flushes the server's), the current array is rewound to the first
    sample not heard (a resumed reply loses nothing), the reference is told that those samples were
    never played, and the stream starts again on `resume()`, `stop()` or the next `play()`.

    With `flush_on_start`, a `play()` while everything written so far has been heard drops the buffered
    silence the same way first: otherwise the reply's first sample waits behind it (play → heard 65 ms
    median through PulseAudio at a 60 ms latency, 12 ms after the drop; the reference stays within 0.5 ms
    of what was heard either way — measured on the private server)."""

    live = True

    def __init__(
        self,
        device: str | int | None = None,
        sample_rate_hz: int = 24_000,
        block_ms: int = 10,
        latency: str | float = "low",
        reference: ReferenceSink | None = None,
        flush_on_pause: bool = False,
        flush_on_start: bool = False,
    ) -> None:
        self.device = device
        self.wanted_rate_hz = sample_rate_hz
        self.rate_hz = sample_rate_hz
        self.block_ms = block_ms
        self.latency = latency
        self.reference = reference
        self._lock = threading.Lock()
        self._queue: collections.deque[Playback] = collections.deque()
        self._current: Playback | None = None
        self._offset = 0
        self._stream = None
        self._ref_resample: _StreamResampler | None = None
        self._paused = False
        self.flush_on_pause = flush_on_pause
        self.flush_on_start = flush_on_start
        self._halted = False  # aborted by a flush: restarted by resume(), stop() or play()
        # (time its first sample is heard, array, offset into it, samples) for each stretch written lately:
        # where a flush rewinds to. 64 ten-millisecond blocks are well over any output latency.
        self._written: collections.deque[tuple[float, Playback, int, int]] = collections.deque(maxlen=64)
        self.underruns = 0
        self.on_started: Callable[[Playback], None] | None = None
        self.on_finished: Callable[[Playback], None] | None = None

    def start(self) -> Speaker:
        sd = _sd()
        device = resolve_device(self.device, "output")
        self.rate_hz = _open_rate(sd, device, "output", self.wanted_rate_hz)
        self._ref_resample = _StreamResampler(self.rate_hz, MODEL_RATE_HZ)
        blocksize = int(self.rate_hz * self.block_ms / 1000)

        def callback(outdata, frames, t, status):
            now = time.monotonic()
            if status.output_underflow:
                self.underruns += 1
            lag = t.outputBufferDacTime - t.currentTime if t.outputBufferDacTime and t.currentTime else 0.0
            lag = lag if 0.0 <= lag < 1.0 else float(self._stream.latency) if self._stream is not None else 0.0
            heard_at = now + lag
            out = outdata[:, 0]
            filled = 0
            started: list[Playback] = []
            finished: list[Playback] = []
            with self._lock:
                while filled < frames and not self._paused:
                    if self._current is None:
                        if not self._queue:
                            break
                        self._current = self._queue.popleft()
                        self._offset = 0
                    pb = self._current
                    if pb.started_at_s is None:
                        pb.started_at_s = heard_at + filled / self.rate_hz
                        started.append(pb)
                    take = min(frames - filled, len(pb.audio) - self._offset)
                    self._written.append((heard_at + filled / self.rate_hz, pb, self._offset, take))
                    out[filled : filled + take] = pb.audio[self._offset : self._offset + take]
                    self._offset += take
                    pb.played_samples = self._offset
                    filled += take
                    if self._offset >= len(pb.audio):
                        finished.append(pb)
                        self._current = None
            out[filled:] = 0.0
            if outdata.shape[1] > 1:
                outdata[:, 1:] = outdata[:, :1]
            if self.reference is not None and self._ref_resample is not None:
                ref = self._ref_resample(out.copy())
                if ref.size:
                    self.reference.push(ref, heard_at)
            for pb in started:
                if self.on_started:
                    self.on_started(pb)
            for pb in finished:
                pb.done.set()
                if self.on_finished:
                    self.on_finished(pb)

        self._stream = _start_stream(sd.OutputStream, "output", self, device, blocksize, callback)
        return self

    @property
    def output_latency_s(self) -> float:
        return float(self._stream.latency) if self._stream is not None else 0.0

    def play(self, audio: np.ndarray, sample_rate_hz: int, tag: object = None) -> Playback:
        """Queue `audio`; the stream opens now if nobody started it (a one-shot reply), which raises the
        device's EarshotError when there is no usable output."""
        from .files import resample

        if self._stream is None:
            self.start()
        elif self.flush_on_start and self._only_silence_buffered():
            self._flush()
        self._restart()
        data = np.ascontiguousarray(audio, dtype=np.float32)
        if sample_rate_hz != self.rate_hz:
            data = resample(data, sample_rate_hz, self.rate_hz)
        pb = Playback(data, self.rate_hz, tag)
        with self._lock:
            self._queue.append(pb)
        return pb

    def _only_silence_buffered(self) -> bool:
        """Nothing queued or paused, and every sample of sound written has been heard: what the device
        still holds is silence, which a new reply need not wait behind."""
        now = time.monotonic()
        with self._lock:
            if self._paused or self._current is not None or self._queue:
                return False
            if not self._written:
                return True
            heard_at, _, _, n = self._written[-1]
            return heard_at + n / self.rate_hz <= now

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._current is not None or bool(self._queue)

    def pause(self) -> None:
        """Hold playback where it is (silence from the next block on); `resume()` goes on from there.
        The voice loop pauses at the first frame that may be the user, before the VAD is sure."""
        with self._lock:
            self._paused = True
        if self.flush_on_pause:
            self._flush()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
        self._restart()

    def _flush(self) -> None:
        """Drop what the device has buffered (see the class doc); the stream stays stopped until restarted."""
        stream = self._stream
        if stream is None or self._halted:
            return
        try:
            stream.abort()
        except Exception:  # noqa: BLE001 - a device that cannot abort just plays its buffer out, as before
            return
        self._halted = True
        now = time.monotonic()  # after the abort: everything heard so far was heard
        with self._lock:
            for heard_at, pb, offset, n in self._written:
                if heard_at + n / self.rate_hz <= now:
                    continue
                heard = offset + min(n, max(0, int((now - heard_at) * self.rate_hz)))
                pb.played_samples = min(pb.played_samples, heard)  # what the user heard of it (a stop's text)
                if pb is self._current:  # rewinding into an array already finished would replay it
                    self._offset = min(self._offset, heard)
                break
            self._written.clear()
        if self.reference is not None:
            self.reference.retract(now)

    def _restart(self) -> None:
        if self._halted and self._stream is not None:
            self._halted = False
            self._stream.start()

    @property
    def paused(self) -> bool:
        return self._paused

    def stop(self) -> list[Playback]:
        """Drop the queue and cut the current array; returns what was cut (with how much was played)."""
        with self._lock:
            cut = ([self._current] if self._current is not None else []) + list(self._queue)
            self._current = None
            self._queue.clear()
            self._paused = False
        if self.flush_on_pause:
            self._flush()
        self._restart()
        for pb in cut:
            pb.stopped = True
            pb.done.set()
        return cut

    def close(self) -> None:
        self.stop()
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.close()
            finally:
                self._stream = None


class FileSink:
    """A Speaker that writes what it would play into a WAV file (headless runs, tests)."""

    live = False

    def __init__(self, path: Path | None = None, sample_rate_hz: int = 24_000) -> None:
        self.path = Path(path) if path else None
        self.rate_hz = sample_rate_hz
        self.played: list[Playback] = []
        self.on_started: Callable[[Playback], None] | None = None
        self.on_finished: Callable[[Playback], None] | None = None
        self.output_latency_s = 0.0

    def start(self) -> FileSink:
        return self

    def play(self, audio: np.ndarray, sample_rate_hz: int, tag: object = None) -> Playback:
        from .files import resample

        data = resample(np.asarray(audio, np.float32), sample_rate_hz, self.rate_hz)
        pb = Playback(data, self.rate_hz, tag, played_samples=len(data), started_at_s=time.monotonic())
        self.played.append(pb)
        if self.on_started:
            self.on_started(pb)
        pb.done.set()
        if self.on_finished:
            self.on_finished(pb)
        return pb

    busy = False
    paused = False

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass

    def stop(self) -> list[Playback]:
        return []

    def audio(self) -> np.ndarray:
        parts = [pb.audio for pb in self.played]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def close(self) -> None:
        if self.path is not None and self.played:
            from .files import write_audio

            write_audio(self.path, self.audio(), self.rate_hz)


class Player:
    """Plays arrays one after another and blocks until each is played; `stop()` cuts playback
    at once. Used for one-shot spoken replies (`earshot ask`), where no capture runs."""

    def __init__(self, device: str | int | None = None) -> None:
        self.device = device
        self._stopped = threading.Event()
        self._speaker: Speaker | None = None
        self._lock = threading.Lock()

    def play(self, audio: np.ndarray, sample_rate_hz: int) -> bool:
        """Block until played or stopped. Returns False when stopped early."""
        if self._stopped.is_set():
            return False
        with self._lock:
            if self._speaker is None or self._speaker.wanted_rate_hz != sample_rate_hz:
                if self._speaker is not None:
                    self._speaker.close()
                self._speaker = Speaker(self.device, sample_rate_hz=sample_rate_hz, latency="high").start()
            speaker = self._speaker
        pb = speaker.play(audio, sample_rate_hz)
        while not pb.done.wait(0.02):
            if self._stopped.is_set():
                speaker.stop()
                break
        if not self._stopped.is_set():
            # The last block is still in the device buffer: let it drain before a caller closes.
            time.sleep(speaker.output_latency_s)
        return not self._stopped.is_set() and not pb.stopped

    def stop(self) -> None:
        self._stopped.set()
        if self._speaker is not None:
            self._speaker.stop()

    def reset(self) -> None:
        self._stopped.clear()

    def close(self) -> None:
        if self._speaker is not None:
            self._speaker.close()
            self._speaker = None
