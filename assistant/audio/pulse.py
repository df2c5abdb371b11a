"""A private PulseAudio server with a virtual microphone and speaker, for benchmarks and tests.

The speaker is a null sink (`spk`); what is played on it can be recorded from `spk.monitor`. The
microphone is a pipe source (`mic`) fed from a FIFO: whatever 16 kHz s16le samples are written
there is what the assistant hears. Nothing here touches sounddevice: the assistant reaches the
server through PortAudio's ALSA `pulse` device exactly as it would a real one.

Clock: the feeder writes the FIFO in 10 ms chunks paced by the monotonic clock and records when
each chunk was written, so "the user stopped speaking at t" is a real time on the same clock as the
assistant's events; the monitor recorder maps every recorded sample to the monotonic clock by the
lower envelope of (arrival time − samples so far / rate), which errs late by at most the recorder's
own buffering (~10 ms): latencies measured with it are, if anything, overestimates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EarshotError

MIC_RATE_HZ = 16_000
CHUNK_SAMPLES = 160  # 10 ms: the feeder's pacing step


def pulseaudio_available() -> str | None:
    """None when a private server can be started here, else the reason it cannot."""
    missing = [b for b in ("pulseaudio", "pactl", "parec") if shutil.which(b) is None]
    if missing:
        return (
            f"{', '.join(missing)} not found — install Debian pulseaudio pulseaudio-utils "
            "libasound2-plugins libportaudio2"
        )
    if (
        not Path("/usr/share/alsa/alsa.conf.d/50-pulseaudio.conf").exists()
        and not Path("/etc/alsa/conf.d/50-pulseaudio.conf").exists()
    ):
        return "the ALSA pulse plugin is missing — install Debian libasound2-plugins"
    return None


def _physical_world_priority(pid: int | None = None) -> None:
    """Raise the calling thread to the priority PulseAudio gives its own threads (nice -11).

    The feeder and the monitor recorder stand in for a microphone and a room, which never wait
    for a busy CPU; at the test's own (lower) priority a loaded machine delayed them by tens of
    ms, so the simulated echo path wandered — a harder echo than any room makes. The assistant's
    threads keep their priority: they are what is under test. Without permission (not root, no
    CAP_SYS_NICE) nothing changes."""
    try:
        os.setpriority(os.PRIO_PROCESS, pid or threading.get_native_id(), -11)
    except (OSError, AttributeError):
        pass


@dataclass
class _Scheduled:
    audio: np.ndarray
    start: int  # feeder sample index of its first sample


class MicFeeder(threading.Thread):
    """Writes the virtual microphone in real time: scheduled signals mixed over silence (+ echo)."""

    def __init__(self, fifo: Path, echo: Callable[[int, int], np.ndarray] | None = None) -> None:
        super().__init__(name="earshot-mic-feeder", daemon=True)
        self.fifo = fifo
        self.echo = echo
        self._lock = threading.Lock()
        self._scheduled: list[_Scheduled] = []
        self._halt = threading.Event()
        self.position = 0  # samples written so far
        self._t0: float | None = None  # monotonic time of sample 0
        # When each 10 ms chunk actually went into the FIFO. PulseAudio reads the pipe only while
        # a client records from `mic` (measured: without one, writes block once the 64 KB pipe is
        # full), so the schedule alone would be wrong by however long nobody listened.
        self._written: list[float] = []
        self.noise_dbfs: float | None = None  # optional background noise floor
        self._rng = np.random.default_rng(1234)
        self.error: BaseException | None = None

    def play(self, audio: np.ndarray, delay_s: float = 0.0) -> int:
        """Schedule `audio` (float32, 16 kHz) into the mic; returns the feeder index of its first sample."""
        audio = np.asarray(audio, dtype=np.float32)
        with self._lock:
            start = self.position + CHUNK_SAMPLES + int(delay_s * MIC_RATE_HZ)
            self._scheduled.append(_Scheduled(audio, start))
        return start

    def time_of(self, index: int) -> float:
        """Monotonic time at which feeder sample `index` entered the microphone."""
        if self._t0 is None:
            raise RuntimeError("the feeder has not started")
        chunk, offset = divmod(int(index), CHUNK_SAMPLES)
        written = self._written
        if chunk < len(written):
            return written[chunk] + offset / MIC_RATE_HZ
        last = written[-1] if written else self._t0
        return last + (index - (len(written) - 1) * CHUNK_SAMPLES) / MIC_RATE_HZ

    def index_at(self, t: float) -> int:
        import bisect

        chunk = max(0, bisect.bisect_right(self._written, t) - 1)
        return chunk * CHUNK_SAMPLES

    def idle(self) -> bool:
        with self._lock:
            return all(s.start + len(s.audio) <= self.position for s in self._scheduled)

    def wait_idle(self, timeout_s: float = 60.0) -> None:
        end = time.monotonic() + timeout_s
        while not self.idle() and time.monotonic() < end:
            time.sleep(0.01)

    def stop(self) -> None:
        self._halt.set()

    def _chunk(self) -> np.ndarray:
        out = np.zeros(CHUNK_SAMPLES, np.float32)
        a, b = self.position, self.position + CHUNK_SAMPLES
        with self._lock:
            keep = []
            for s in self._scheduled:
                lo, hi = max(a, s.start), min(b, s.start + len(s.audio))
                if lo < hi:
                    out[lo - a : hi - a] += s.audio[lo - s.start : hi - s.start]
                if s.start + len(s.audio) > b:
                    keep.append(s)
            self._scheduled = keep
        if self.echo is not None:
            out += self.echo(a, CHUNK_SAMPLES)
        if self.noise_dbfs is not None:
            out += self._rng.standard_normal(CHUNK_SAMPLES).astype(np.float32) * 10 ** (self.noise_dbfs / 20)
        return out

    def run(self) -> None:
        _physical_world_priority()
        try:
            fd = os.open(self.fifo, os.O_WRONLY)
            try:
                self._t0 = time.monotonic()
                due = self._t0
                while not self._halt.is_set():
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    pcm = (np.clip(self._chunk(), -1.0, 1.0) * 32767).astype("<i2").tobytes()
                    os.write(fd, pcm)  # blocks while nobody records from `mic`
                    now = time.monotonic()
                    self._written.append(now)
                    self.position += CHUNK_SAMPLES
                    # Real time from here on; after a long block, do not rush to catch up.
                    due = max(due + CHUNK_SAMPLES / MIC_RATE_HZ, now - 0.02)
            finally:
                os.close(fd)
        except BaseException as exc:  # surfaced by the owner; a dead feeder must not look like silence
            self.error = exc


class MonitorRecorder(threading.Thread):
    """Records `spk.monitor` (what the speaker played) at 16 kHz with a monotonic time for every sample."""

    def __init__(self, env: dict, source: str = "spk.monitor") -> None:
        super().__init__(name="earshot-monitor-recorder", daemon=True)
        self.proc = subprocess.Popen(
            [
                "parec",
                "--raw",
                "-d",
                source,
                "--format=s16le",
                f"--rate={MIC_RATE_HZ}",
                "--channels=1",
                "--latency-msec=10",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        _physical_world_priority(self.proc.pid)  # parec is the recording hardware
        self._buf = np.zeros(16_000 * 60, np.float32)  # grows by doubling; a bench run is minutes
        self._lock = threading.Lock()
        self.samples = 0
        self._offset: float | None = None  # lower envelope of (arrival − samples/rate)
        self.listeners: list[Callable[[np.ndarray, int], None]] = []

    def run(self) -> None:
        _physical_world_priority()
        assert self.proc.stdout is not None
        rest = b""
        while True:
            data = self.proc.stdout.read1(640) if hasattr(self.proc.stdout, "read1") else self.proc.stdout.read(640)
            now = time.monotonic()
            if not data:
                return
            data = rest + data
            usable = len(data) - len(data) % 2
            rest = data[usable:]
            block = np.frombuffer(data[:usable], "<i2").astype(np.float32) / 32768.0
            with self._lock:
                start = self.samples
                if start + len(block) > len(self._buf):
                    self._buf = np.concatenate([self._buf, np.zeros(len(self._buf), np.float32)])
                self._buf[start : start + len(block)] = block
                self.samples += len(block)
                offset = now - self.samples / MIC_RATE_HZ
                self._offset = offset if self._offset is None else min(self._offset, offset)
            for listener in self.listeners:
                listener(block, start)

    def time_of(self, index: int) -> float:
        if self._offset is None:
            raise RuntimeError("nothing recorded yet")
        return self._offset + index / MIC_RATE_HZ

    def index_at(self, t: float) -> int:
        return int(round((t - (self._offset or t)) * MIC_RATE_HZ))

    def audio(self, start: int = 0, end: int | None = None) -> np.ndarray:
        """Recorded samples [start, end); samples not recorded yet are left out."""
        with self._lock:
            end = self.samples if end is None else min(end, self.samples)
            start = max(0, start)
            return self._buf[start:end].copy() if end > start else np.zeros(0, np.float32)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class VirtualAudioServer:
    """`with VirtualAudioServer() as server:` — a private PulseAudio with `mic` and `spk`.

    On enter it points this process at the server (PULSE_SERVER), so PortAudio's `pulse`/`default`
    devices reach it; call `assistant.audio.io.refresh_devices()` afterwards if sounddevice was
    already imported. On exit it stops the server (by its own pid) and restores the environment.
    """

    def __init__(self, echo: Callable[[int, int], np.ndarray] | None = None, record_monitor: bool = True) -> None:
        reason = pulseaudio_available()
        if reason:
            raise EarshotError(f"cannot start a private PulseAudio server: {reason}")
        self.dir = Path(tempfile.mkdtemp(prefix="earshot-pulse-"))
        self.fifo = self.dir / "mic.fifo"
        self.env = dict(
            os.environ,
            PULSE_RUNTIME_PATH=str(self.dir),
            PULSE_SERVER=f"unix:{self.dir}/native",
            PULSE_STATE_PATH=str(self.dir),
            PULSE_CONFIG_PATH=str(self.dir),
            HOME=str(self.dir),
        )
        self.proc: subprocess.Popen | None = None
        self.feeder: MicFeeder | None = None
        self.monitor: MonitorRecorder | None = None
        self._echo = echo
        self._record = record_monitor
        self._saved_env: dict[str, str | None] = {}

    def __enter__(self) -> VirtualAudioServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        (self.dir / "pa.pa").write_text(
            "load-module module-native-protocol-unix auth-anonymous=1\n"
            "load-module module-null-sink sink_name=spk rate=48000\n"
            f"load-module module-pipe-source source_name=mic file={self.fifo} format=s16le "
            f"rate={MIC_RATE_HZ} channels=1\n"
            "set-default-sink spk\nset-default-source mic\n"
        )
        (self.dir / "daemon.conf").write_text("default-fragments = 2\ndefault-fragment-size-msec = 5\n")
        self.proc = subprocess.Popen(
            [
                "pulseaudio",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "-n",
                "--use-pid-file=no",
                "--disable-shm=yes",
                "-F",
                str(self.dir / "pa.pa"),
                "--log-target=file:" + str(self.dir / "log"),
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                log = (self.dir / "log").read_text(errors="replace")[-400:] if (self.dir / "log").exists() else ""
                raise EarshotError(f"pulseaudio exited at start-up: {log}")
            ok = subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode == 0
            if ok and self.fifo.exists():
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise EarshotError("pulseaudio did not come up within 15 s")
        for key in ("PULSE_SERVER", "PULSE_RUNTIME_PATH"):
            self._saved_env[key] = os.environ.get(key)
            os.environ[key] = self.env[key]
        self.feeder = MicFeeder(self.fifo, echo=self._echo)
        self.feeder.start()
        if self._record:
            self.monitor = MonitorRecorder(self.env)
            self.monitor.start()
        # Wait until both clocks run, so times can be mapped from the first event on.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (
            self.feeder._t0 is None or (self.monitor is not None and self.monitor._offset is None)
        ):
            time.sleep(0.01)

    def stop(self) -> None:
        if self.feeder is not None:
            self.feeder.stop()
        if self.monitor is not None:
            self.monitor.stop()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.feeder is not None:
            self.feeder.join(timeout=2)
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._saved_env = {}
        shutil.rmtree(self.dir, ignore_errors=True)

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], env=self.env, capture_output=True, text=True, check=True).stdout
