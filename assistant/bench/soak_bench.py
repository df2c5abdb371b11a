"""`earshot bench soak --minutes N`: the always-open microphone, for as long as you like, watched from outside.

`earshot listen --json` runs in a **child process** on a private PulseAudio server (audio/pulse.py: a
pipe-source microphone, a null-sink speaker fed back into the microphone through a simulated room, as
`bench latency` does). This process plays a looped mix into the microphone in real time — spoken
requests (short chat, so turns are short), music, noise (synthetic and a real recording), silence, and
barge-ins (a request, then "stop" over its answer) — and watches the child as an outsider would:

- its memory, threads and open files from `/proc/PID/status` and `/proc/PID/fd`, every few seconds;
- its event lines: a request is *answered* when a reply follows it, *missed* when none does;
- **stuck**: no event line *and* no sound from its speaker for more than 30 s while a request was waiting
  for its answer (a reply of the planner's longest `say` plays for ~25 s after its last event);
- **crashes**: the child dying (it is then restarted on the same session and the soak goes on).

It never asks the loop how it is doing: a loop that died or hung cannot say so.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .latency_bench import BARGE_IN_PHRASES
from .latency_sets import CHAT as REQUESTS  # the spoken chat requests of the latency bench

STUCK_S = 30.0  # no event and no sound for this long while a request waits for its answer: stuck
ANSWER_TIMEOUT_S = 120.0  # a request with no reply after this long is missed
SAMPLE_EVERY_S = 5.0
# A request whose answer takes a few sentences, so there is time to talk over it.
LONG_REQUESTS = (
    "Tell me in a few sentences what you can do with my recordings.",
    "Explain in a few sentences how you work offline.",
)
# One loop of the feed; it repeats until the time is up.
FEED = ("request", "music", "request", "noise", "request", "silence", "barge_in", "request", "recording", "request")


@dataclass
class Child:
    """`earshot listen --json --all-events` in its own process; its stdout read line by line into timestamped
    events. The level meter (10 a second) is kept out of the list: it says the microphone pump runs, not
    that anything is being done; its state ("idle", "hearing", "thinking", "speaking") is tracked."""

    cmd: list[str]
    env: dict
    log: Path
    proc: subprocess.Popen | None = None
    events: list[tuple[float, dict]] = field(default_factory=list)
    state: str = ""

    def start(self) -> None:
        self._stderr = open(self.log, "a")  # noqa: SIM115 (closed in stop)
        self.state = ""
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            bufsize=1,
            preexec_fn=_die_with_parent,
        )
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("type") == "input_level":
                continue
            if event.get("type") == "voice_state":
                self.state = event.get("state", "")
            self.events.append((time.monotonic(), event))

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def last_event_s(self) -> float:
        return self.events[-1][0] if self.events else 0.0

    def since(self, i: int) -> list[dict]:
        return [e for _, e in self.events[i:]]

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """Ctrl+C, as a user would quit; killed if it does not go."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._stderr.close()
        return self.proc.returncode


def _terminate(signum, frame) -> None:
    raise KeyboardInterrupt


def _libc():
    import ctypes

    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()  # loaded here, not between fork and exec (no import may run there in a threaded parent)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the bench dies, so a killed bench leaves no listener behind."""
    if _LIBC is not None:
        _LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def proc_sample(pid: int) -> dict | None:
    """RSS (MB), threads and open file descriptors of a process, read from /proc (None once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        fds = len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields_ = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)

    def mb(key: str) -> float:
        return int(fields_.get(key, "0 kB").split()[0]) / 1024

    # RssAnon is the heap (Python objects, malloc arenas, model buffers); RssFile mapped files (model weights)
    return {
        "rss_mb": mb("VmRSS"),
        "anon_mb": mb("RssAnon"),
        "file_mb": mb("RssFile"),
        "threads": int(fields_.get("Threads", "0")),
        "fds": fds,
    }


def _slope_per_hour(samples: list[dict], key: str) -> float | None:
    """Least-squares slope of `key` over time, per hour (the first tenth of the run is warm-up, left out)."""
    if len(samples) < 3:
        return None
    t = np.array([s["t_s"] for s in samples], np.float64)
    keep = t >= t[0] + 0.1 * (t[-1] - t[0])
    if keep.sum() < 3:
        return None
    y = np.array([s[key] for s in samples], np.float64)[keep]
    return float(np.polyfit(t[keep], y, 1)[0] * 3600)


# -- the feed ------------------------------------------------------------------------------------------
def _speech(tts, text: str, i: int) -> np.ndarray:
    from ..audio.files import resample

    audio = tts.synthesize(text, speed=(0.95, 1.0, 1.08)[i % 3], seed=11 + i)
    return resample(audio, tts.sample_rate_hz, 16_000).astype(np.float32) * 0.7


def _music(seconds: float, seed: int) -> np.ndarray:
    """Chords with harmonics over a kick and hi-hat pattern, 16 kHz: what a producer plays while working."""
    rate = 16_000
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    roots = rng.choice([110.0, 130.8, 146.8, 164.8, 196.0], size=int(seconds // 2) + 1)
    for k, root in enumerate(roots):
        span = (t >= 2 * k) & (t < 2 * k + 2)
        for ratio in (1.0, 1.26, 1.5, 2.0):
            for h in (1, 2, 3):
                out[span] += np.sin(2 * np.pi * root * ratio * h * t[span]) * 0.05 / h
    beat = (t % 0.5) < 0.08
    out += beat * np.sin(2 * np.pi * 55 * t) * np.exp(-40 * (t % 0.5)) * 0.5
    hat = ((t + 0.25) % 0.5) < 0.02
    out += hat * rng.standard_normal(len(t)) * 0.05
    return (out / max(1e-9, np.abs(out).max()) * 0.4).astype(np.float32)


def _noise(seconds: float, seed: int) -> np.ndarray:
    """Pink-ish noise (a fan, a room) at about -30 dBFS."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(int(seconds * 16_000))
    spectrum = np.fft.rfft(white)
    spectrum /= np.sqrt(np.arange(1, len(spectrum) + 1))
    pink = np.fft.irfft(spectrum, len(white))
    return (pink / np.sqrt(np.mean(pink**2)) * 0.03).astype(np.float32)


def _recording() -> np.ndarray | None:
    """A real recording that is not speech to the assistant: ALSA's Noise.wav (alsa-utils), if present."""
    path = Path("/usr/share/sounds/alsa/Noise.wav")
    if not path.exists():
        return None
    import soundfile as sf

    from ..audio.files import resample

    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return (resample(audio.mean(axis=1), rate, 16_000) * 0.5).astype(np.float32)


# -- the bench -----------------------------------------------------------------------------------------
def run_soak_bench(minutes: float = 60.0, llm: str | None = None, progress=None, home: Path | None = None) -> dict:
    from ..audio.pulse import VirtualAudioServer, pulseaudio_available
    from ..config import load_config
    from ..errors import EarshotError
    from ..runtime.models import ModelStore
    from ..runtime.tts import get_tts
    from .aec_bench import room_impulse_response
    from .voice_rig import EchoPath, first_audible

    reason = pulseaudio_available()
    if reason:
        raise EarshotError(f"the soak benchmark needs PulseAudio: {reason}")
    say = progress or (lambda msg: None)
    base = load_config()
    tts = get_tts(ModelStore(base.paths))
    home = Path(home or tempfile.mkdtemp(prefix="earshot-soak-"))
    home.mkdir(parents=True, exist_ok=True)
    requests = [_speech(tts, text, i) for i, text in enumerate(REQUESTS)]
    long_requests = [_speech(tts, text, i) for i, text in enumerate(LONG_REQUESTS)]
    stops = [_speech(tts, text, i) for i, text in enumerate(BARGE_IN_PHRASES)]
    recording = _recording()
    echo = EchoPath(room_impulse_response(20, 0.3, seed=3), gain=1.0, delay_ms=60)
    server = VirtualAudioServer(echo=echo)
    server.start()
    echo.attach(server.monitor)
    server.feeder.noise_dbfs = -65.0
    env = dict(
        server.env,
        EARSHOT_HOME=str(home),
        EARSHOT_MODELS=str(base.paths.models_dir),
        EARSHOT_CACHE=str(base.paths.cache_dir),
        ORT_DISABLE_TELEMETRY="1",
        HF_HUB_OFFLINE="1",
        PYTHONUNBUFFERED="1",
    )
    cmd = [sys.executable, "-m", "assistant", "listen", "--json", "--all-events"] + (["--llm", llm] if llm else [])
    tally = {
        "turns_played": 0,
        "turns_answered": 0,
        "turns_missed": 0,
        "not_heard": 0,
        "stuck": 0,
        "crashes": 0,
        "barge_ins": 0,
        "barge_ins_stopped": 0,
        "false_turns": 0,
        "cut_off": 0,
        "self_interruptions": 0,
        "extra_turns": 0,
        "items": {},
    }
    missed: list[dict] = []
    stuck_notes: list[dict] = []
    crash_notes: list[str] = []
    samples: list[dict] = []
    child = Child(cmd, env, home / "listen.log")
    t_begin = time.monotonic()
    load_start = os.getloadavg()

    def audible(window_s: float = 0.5) -> bool:
        """Did the child's speaker play anything in the last `window_s`?"""
        now = time.monotonic()
        mon, _ = _monitor(server, now - window_s, now)
        return first_audible(mon, -45.0) is not None

    def quiet(after_s: float = 1.2, timeout_s: float = 180.0) -> None:
        """Until the child is idle (no turn running, not speaking), its speaker has been silent and it has
        said nothing for `after_s`: the next item never lands in the middle of a turn."""
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and child.alive():
            now = time.monotonic()
            if child.state == "idle" and now - child.last_event_s() >= after_s and not audible(after_s):
                return
            time.sleep(0.2)

    def start_child(first: bool) -> bool:
        child.events.clear()
        child.start()
        # Warm-up: models load, the greeting plays. Ready once the greeting has finished.
        end = time.monotonic() + 300
        while time.monotonic() < end and child.alive():
            if any(e.get("type") == "playback_stopped" for e in child.since(0)):
                break
            time.sleep(0.2)
        quiet()
        if not child.alive():
            return False
        say(f"listen {'started' if first else 'restarted'} (pid {child.pid})")
        return True

    def watch(until: float) -> None:
        """Wait until `until`, sampling the child; a death is a crash (the child is restarted)."""
        nonlocal next_sample
        while time.monotonic() < until:
            if time.monotonic() >= next_sample:
                s = proc_sample(child.pid) if child.alive() else None
                if s is not None:
                    samples.append(dict(s, t_s=round(time.monotonic() - t0, 1)))
                next_sample += SAMPLE_EVERY_S
            if not child.alive():
                return
            time.sleep(0.1)

    def request(audio: np.ndarray) -> tuple[str, int]:
        """Play a request: ("answered" | "cut off" | "missed" | "not heard" | "crash", index of its events).
        Counts a stuck gap (no event and no sound for STUCK_S while the request waits). Sound counts: a
        reply emits its sentences as they are synthesised, ahead of playback, so the planner's longest
        `say` (400 characters) plays for ~25 s after its last event, and a failed plan's retry and spoken
        rejection can follow it (in CI, with smollm2-135m, one speaking turn went 30 s without an event); a
        speaker held paused for good is silent, and still counts."""
        since = len(child.events)
        played_at = heard_at = time.monotonic()
        server.feeder.play(np.concatenate([audio, np.zeros(1600, np.float32)]))
        heard_by = played_at + len(audio) / 16_000 + 4.0
        stuck_counted = False
        while True:
            watch(time.monotonic() + 0.2)
            if not child.alive():
                return "crash", since
            evs = child.since(since)
            turns = {e.get("turn_id") for e in evs if e.get("type") == "turn_started"}
            kinds = [e.get("type") for e in evs]
            if any(e.get("type") == "reply" and e.get("turn_id") in turns for e in evs):
                return "answered", since
            now = time.monotonic()
            settled = child.state == "idle" and now - child.last_event_s() > 2.0
            if "speech_started" not in kinds and now > heard_by:
                return "not heard", since
            if settled and "interrupted" in kinds:
                return "cut off", since  # its answer was cut off (nobody else spoke: its own voice)
            if settled and "error" in kinds and turns:
                return "answered", since  # the turn ended with a one-line error: an answer, not silence
            if settled and now > heard_by + 3.0:
                return "missed", since  # heard, then dropped without a turn (or a turn without a reply)
            if child.state == "speaking" and audible():
                heard_at = now
            if now - max(child.last_event_s(), played_at, heard_at) > STUCK_S and not stuck_counted:
                tally["stuck"] += 1
                stuck_counted = True
                stuck_notes.append({"at_s": round(now - t0), "state": child.state, "events": _brief(evs)})
                say(f"STUCK: no event and no sound for {STUCK_S:.0f} s after a request ({kinds[-5:]})")
            if now - played_at > ANSWER_TIMEOUT_S:
                return "missed", since

    def barge_in(request_audio: np.ndarray, stop_audio: np.ndarray) -> None:
        """A request whose answer is talked over ("stop …") once it is playing."""
        since = len(child.events)
        played_at = time.monotonic()
        server.feeder.play(request_audio)
        playing = False
        while time.monotonic() - played_at < ANSWER_TIMEOUT_S and child.alive():
            evs = child.since(since)
            turns = {e.get("turn_id") for e in evs if e.get("type") == "turn_started"}
            if turns and any(e.get("type") == "playback_started" for e in evs):
                playing = True
                break
            if child.state == "idle" and time.monotonic() - max(child.last_event_s(), played_at) > 4.0:
                break  # nothing came of it
            watch(time.monotonic() + 0.1)
        if playing:
            watch(time.monotonic() + 1.0)
            server.feeder.play(stop_audio)
            watch(time.monotonic() + len(stop_audio) / 16_000 + 6.0)
        evs = child.since(since)
        turns = {e.get("turn_id") for e in evs if e.get("type") == "turn_started"}
        # answered: its reply was recorded, or its answer was playing when the user stopped it (as asked)
        answered = playing or any(e.get("type") == "reply" and e.get("turn_id") in turns for e in evs)
        tally["turns_answered" if answered else "turns_missed"] += 1
        tally["barge_ins_stopped"] += playing and any(e.get("type") == "interrupted" for e in evs)

    t0 = next_sample = time.monotonic()
    step = 0
    warm: dict | None = None  # the sample after the first loop of the feed: first-use allocations are done
    previous = None
    if threading.current_thread() is threading.main_thread():  # `kill` stops the soak as Ctrl+C does: cleanly
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if not start_child(True):
            raise EarshotError(f"`earshot listen` did not start: see {child.log}")
        first_sample = proc_sample(child.pid)
        samples.append(dict(first_sample, t_s=0.0))
        t0 = time.monotonic()
        deadline = t0 + minutes * 60
        next_sample = t0 + SAMPLE_EVERY_S
        step = 0
        while time.monotonic() < deadline:
            kind = FEED[step % len(FEED)]
            step += 1
            tally["items"][kind] = tally["items"].get(kind, 0) + 1
            since = len(child.events)
            if kind == "request":
                tally["turns_played"] += 1
                outcome, since = request(requests[step % len(requests)])
                if outcome == "answered":
                    tally["turns_answered"] += 1
                else:
                    tally["turns_missed"] += 1
                    tally["not_heard"] += outcome == "not heard"
                    tally["cut_off"] += outcome == "cut off"
                    missed.append(
                        {"at_s": round(time.monotonic() - t0), "outcome": outcome, "events": _brief(child.since(since))}
                    )
                tally["self_interruptions"] += sum(e.get("type") == "interrupted" for e in child.since(since))
                tally["extra_turns"] += max(0, sum(e.get("type") == "turn_started" for e in child.since(since)) - 1)
            elif kind == "barge_in":
                tally["turns_played"] += 1
                tally["barge_ins"] += 1
                barge_in(long_requests[step % len(long_requests)], stops[step % len(stops)])
            else:
                seconds = {"music": 8.0, "noise": 6.0, "silence": 6.0}.get(kind, 0.0)
                if kind == "music":
                    audio = _music(seconds, step)
                elif kind == "noise":
                    audio = _noise(seconds, step)
                else:
                    audio = recording if kind == "recording" else None
                if audio is not None:
                    server.feeder.play(audio)
                watch(time.monotonic() + (len(audio) / 16_000 if audio is not None else seconds) + 1.0)
            if child.alive():
                quiet()
            if kind not in ("request", "barge_in"):  # a turn that music or noise started
                tally["false_turns"] += sum(1 for e in child.since(since) if e.get("type") == "turn_started")
            if not child.alive():
                tally["crashes"] += 1
                code = child.proc.returncode if child.proc else None
                tail = child.log.read_text(errors="replace")[-600:] if child.log.exists() else ""
                crash_notes.append(f"exit {code} at {time.monotonic() - t0:.0f} s: {tail}")
                say(f"CRASH: listen exited with {code}; restarting")
                child.stop()
                if time.monotonic() < deadline and not start_child(False):
                    break
            if step == len(FEED) and warm is None:  # every kind of item has been through the loop once
                sample = proc_sample(child.pid) if child.alive() else None
                if sample is not None:
                    warm = dict(sample, t_s=round(time.monotonic() - t0, 1))
                    samples.append(warm)
            if progress and step % len(FEED) == 0:
                last = samples[-1]
                say(
                    f"{(time.monotonic() - t0) / 60:.1f} min: {tally['turns_answered']}/{tally['turns_played']} "
                    f"answered, RSS {last['rss_mb']:.0f} MB, {last['threads']} threads, {last['fds']} fds, "
                    f"stuck {tally['stuck']}, crashes {tally['crashes']}"
                )
        end_sample = proc_sample(child.pid) if child.alive() else None
        if end_sample is not None:
            samples.append(dict(end_sample, t_s=round(time.monotonic() - t0, 1)))
    finally:
        state_at_stop, stop_started = child.state, time.monotonic()
        exit_code = child.stop()
        stop_s = time.monotonic() - stop_started
        server.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    errors = child.log.read_text(errors="replace").count("Traceback") if child.log.exists() else 0
    load_end = os.getloadavg()
    last = samples[-1]
    result = {
        "minutes": round((time.monotonic() - t0) / 60, 2),
        "llm": llm or base.models.llm,
        "rss_start_mb": round(samples[0]["rss_mb"], 1),
        "rss_end_mb": round(last["rss_mb"], 1),
        "rss_growth_mb": round(last["rss_mb"] - samples[0]["rss_mb"], 1),
        "rss_max_mb": round(max(s["rss_mb"] for s in samples), 1),
        # after one loop of the feed (every kind of turn once): what grows after that is not warm-up
        "rss_warm_mb": None if warm is None else round(warm["rss_mb"], 1),
        "rss_growth_after_warm_mb": None if warm is None else round(last["rss_mb"] - warm["rss_mb"], 1),
        "warm_at_min": None if warm is None else round(warm["t_s"] / 60, 1),
        "rss_slope_mb_per_h": _round(_slope_per_hour(samples, "rss_mb")),
        "anon_start_mb": round(samples[0]["anon_mb"], 1),
        "anon_end_mb": round(last["anon_mb"], 1),
        "file_start_mb": round(samples[0]["file_mb"], 1),
        "file_end_mb": round(last["file_mb"], 1),
        "fds_start": samples[0]["fds"],
        "fds_end": last["fds"],
        "threads_start": samples[0]["threads"],
        "threads_end": last["threads"],
        "turns_played": tally["turns_played"],
        "turns_answered": tally["turns_answered"],
        "turns_missed": tally["turns_missed"],
        "not_heard": tally["not_heard"],
        "stuck": tally["stuck"],
        "crashes": tally["crashes"],
        "barge_ins": tally["barge_ins"],
        "barge_ins_stopped": tally["barge_ins_stopped"],
        "false_turns": tally["false_turns"],
        "cut_off": tally["cut_off"],
        "self_interruptions": tally["self_interruptions"],
        # turns after a request beyond its own: the assistant's own voice (or a word of it) heard as a request
        "extra_turns": tally["extra_turns"],
        "items_played": tally["items"],
        "tracebacks_logged": errors,
        "exit_code": exit_code,  # -9: it did not quit within 30 s of Ctrl+C and was killed
        "state_at_stop": state_at_stop,
        "stop_s": round(stop_s, 1),
        "startup_s": round(t0 - t_begin, 1),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in load_end],
        "missed": missed[:20],
        "crash_notes": crash_notes,
        "stuck_notes": stuck_notes,
        "samples": samples,
        "home": str(home),
    }
    return result


def _brief(events: list[dict]) -> list[str]:
    """What happened after a request that was not answered, in a few words per event."""
    keep = {
        "speech_started",
        "transcript",
        "turn_started",
        "plan_ready",
        "plan_rejected",
        "reply",
        "interrupted",
        "speech_discarded",
        "barge_in_dismissed",
        "error",
        "playback_started",
        "playback_stopped",
    }
    out = []
    for e in events:
        if e.get("type") in keep:
            detail = e.get("text") or e.get("reason") or e.get("message") or e.get("heard") or ""
            out.append(f"{e['type']} {str(detail)[:50]}".strip())
    return out[-10:]


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _monitor(server, start_s: float, end_s: float) -> tuple[np.ndarray, float]:
    mon = server.monitor
    a, b = max(0, mon.index_at(start_s)), max(0, mon.index_at(end_s))
    return mon.audio(a, b), mon.time_of(a)


def print_result(result: dict) -> None:
    from rich.console import Console

    c = Console()
    c.print(
        f"[bold]soak[/] {result['minutes']} min of `earshot listen` ({result['llm']}), watched from outside; "
        f"load average {result['load_average_start'][0]} → {result['load_average_end'][0]}"
    )
    c.print(
        f"RSS {result['rss_start_mb']} → {result['rss_end_mb']} MB (growth {result['rss_growth_mb']} MB, "
        f"max {result['rss_max_mb']} MB, slope {result['rss_slope_mb_per_h']} MB/h; after the first loop of the "
        f"feed {result['rss_warm_mb']} MB, growth since {result['rss_growth_after_warm_mb']} MB); "
        f"fds {result['fds_start']} → {result['fds_end']}; threads {result['threads_start']} → {result['threads_end']}"
    )
    c.print(
        f"turns answered {result['turns_answered']} of {result['turns_played']} played "
        f"(missed {result['turns_missed']}, of which not heard {result['not_heard']}); "
        f"barge-ins stopped {result['barge_ins_stopped']} of {result['barge_ins']}; "
        f"turns started by music/noise {result['false_turns']}"
    )
    c.print(
        f"answers cut off with nobody speaking over them {result['cut_off']}; interruptions during requests "
        f"{result['self_interruptions']}; extra turns after a request (its own voice heard) {result['extra_turns']}"
    )
    c.print(
        f"stuck {result['stuck']}, crashes {result['crashes']}, tracebacks in its log {result['tracebacks_logged']}, "
        f"exit code {result['exit_code']}"
    )
