"""`earshot bench startup`: time from launching `earshot` to its first drawn screen.

Each run starts `python -m assistant` in a fresh pseudo-terminal (80×24) with a throw-away
EARSHOT_HOME (the real model store), reads what it writes to the terminal, and stops the clock
when the input box's placeholder has been drawn — the screen a user sees. The planner keeps loading
behind it; the run then presses Ctrl+Q. A benchmark, not a test: figures depend on the machine.
"""

from __future__ import annotations

import os
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MARKER = b"Ask:"  # start of the input placeholder, drawn in the first full frame


# The same measurement on the smallest Textual app that draws the marker: what any Textual app
# costs on this machine right now, so a slow figure on a busy machine can be read against it.
BASELINE_APP = (
    "from textual.app import App\nfrom textual.widgets import Static\n"
    "class A(App):\n    BINDINGS = [('ctrl+q', 'quit')]\n"
    "    def compose(self):\n        yield Static('Ask: baseline')\nA().run()\n"
)


def _one_run(timeout_s: float, baseline: bool = False) -> float:
    import fcntl
    import pty
    import struct
    import termios

    from ..config import PathOptions

    with tempfile.TemporaryDirectory(prefix="earshot-startup-") as tmp:
        env = dict(
            os.environ,
            EARSHOT_HOME=str(Path(tmp) / "home"),
            TERM=os.environ.get("TERM", "xterm-256color"),
            COLUMNS="80",
            LINES="24",
        )
        env.setdefault("EARSHOT_MODELS", str(PathOptions().models_dir))
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")])
        )
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        workspace = Path(tmp) / "workspace"
        t0 = time.perf_counter()
        argv = (
            [sys.executable, "-c", BASELINE_APP]
            if baseline
            else [sys.executable, "-m", "assistant", "--new-session", "--workspace", str(workspace), "--no-speak"]
        )
        proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True, start_new_session=True
        )
        os.close(slave)
        seen = b""
        elapsed = None
        try:
            while time.perf_counter() - t0 < timeout_s:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break
                seen += chunk
                if MARKER in seen:
                    elapsed = time.perf_counter() - t0
                    break
            if elapsed is None:
                tail = seen[-600:].decode("utf-8", "replace")
                raise RuntimeError(f"no screen drawn within {timeout_s:.0f} s; the terminal showed: {tail!r}")
            os.write(master, b"\x11")  # Ctrl+Q
            try:
                deadline = time.monotonic() + 10
                while proc.poll() is None and time.monotonic() < deadline:
                    if select.select([master], [], [], 0.1)[0]:
                        try:
                            os.read(master, 65536)  # keep draining so the app never blocks on write
                        except OSError:
                            break
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=10)
        finally:
            os.close(master)
        return elapsed


def run_startup_bench(runs: int = 5, timeout_s: float = 60.0) -> dict:
    times, base = [], []
    for _ in range(max(1, runs)):  # interleaved, so both see the same machine load
        times.append(_one_run(timeout_s))
        base.append(_one_run(timeout_s, baseline=True))
    return {
        "runs": len(times),
        "first_screen_ms": [round(t * 1000, 1) for t in times],
        "baseline_textual_hello_p50_ms": round(statistics.median(base) * 1000, 1),
        "first_screen_p50_ms": round(statistics.median(times) * 1000, 1),
        "first_screen_max_ms": round(max(times) * 1000, 1),
        "terminal": "80x24 pty",
        # a busy machine inflates every figure: say how busy it was
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }


def print_result(result: dict) -> None:
    print(
        f"time to first drawn screen over {result['runs']} launches (80×24 pseudo-terminal): "
        f"median {result['first_screen_p50_ms']:.0f} ms, max {result['first_screen_max_ms']:.0f} ms "
        f"(load average {result['load_average_1min']} on {result['cpus']} CPUs)"
    )
    print(f"a minimal Textual app in the same run: median {result['baseline_textual_hello_p50_ms']:.0f} ms")
    print("runs (ms): " + ", ".join(f"{t:.0f}" for t in result["first_screen_ms"]))
