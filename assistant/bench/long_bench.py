"""`earshot bench long`: tools on a long input (30 minutes by default): peak memory, time, progress.

Each tool runs in a fresh process (so its peak resident memory, `ru_maxrss`, is its own) on the same
file: 48 kHz stereo 16-bit, music-like (a tone, a click every beat at 120 BPM, noise). Reported per
tool: peak RSS, the RSS before the tool ran (imports and models), the input's size decoded as float32,
wall time and real-time factor, and how many progress reports the tool made. Figures, never asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RATE = 48_000
TOOLS = ("describe", "transcribe", "denoise", "edit")
ARGS = {"edit": {"op": "gain", "gain_db": -3}}

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from assistant.audio_models.base import ToolContext
from assistant.audio_models.registry import default_registry
from assistant.config import load_config
from assistant.llm.plan import build_args, resolve_ref
from assistant.runtime.models import ModelStore
from assistant.store.session import SessionStore

tool_name, path, work, extra = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), json.loads(sys.argv[4])
config = load_config()
store = SessionStore(work / "bench.db")
session = store.create_session(work / "ws")
link = session.workspace / path.name
if not link.exists():
    link.symlink_to(path)
config.paths.allowed_roots = (path.parent.resolve(),)
tool = default_registry().get(tool_name)
reports = []
ctx = ToolContext(session=session, config=config, models=ModelStore(config.paths), tool_name=tool_name,
                  on_progress=lambda f, m: reports.append((round(f, 3), m)))
ctx.max_memory_mb = int(tool.spec.max_memory_mb)
resolve = lambda ref, want="file": resolve_ref(ref, session, config.paths.allowed_roots, 1, {}, config.limits)
args = build_args(tool, {"file": path.name, **extra}, resolve)
before = int(open('/proc/self/statm').read().split()[1]) * 4096 / 1e6
t0 = time.perf_counter()
try:
    result = tool.run(args, ctx)
    status, error = "ok", None
except Exception as exc:
    status, error = "failed", str(exc)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"status": status, "error": error, "seconds": elapsed, "peak_rss_mb": peak,
                  "rss_before_mb": before, "progress_reports": len(reports)}))
"""


def make_input(path: Path, minutes: float) -> None:
    import soundfile as sf

    block = RATE * 10
    frames = int(minutes * 60 * RATE)
    rng = np.random.default_rng(0)
    with sf.SoundFile(str(path), "w", RATE, 2, subtype="PCM_16") as f:
        for start in range(0, frames, block):
            n = min(block, frames - start)
            t = (start + np.arange(n)) / RATE
            click = (np.mod(t, 0.5) < 0.01) * np.sin(2 * np.pi * 1000 * t)
            x = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.3 * click + 0.01 * rng.standard_normal(n)
            f.write(np.stack([x, 0.8 * x], axis=1).astype(np.float32))


def run_long_bench(minutes: float = 30.0, tools: tuple[str, ...] = TOOLS, progress: bool = True) -> dict:
    results = {}
    with tempfile.TemporaryDirectory(prefix="earshot-long-") as tmp:
        path = Path(tmp) / f"long-{minutes:g}min.wav"
        make_input(path, minutes)
        decoded_mb = minutes * 60 * RATE * 2 * 4 / 1e6
        for name in tools:
            if progress:
                print(f"… {name} on {minutes:g} minutes", file=sys.stderr, flush=True)
            work = Path(tmp) / name
            work.mkdir()
            started = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHILD, name, str(path), str(work), json.dumps(ARGS.get(name, {}))],
                capture_output=True,
                text=True,
            )
            lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
            row = json.loads(lines[-1]) if lines else {"status": "crashed", "error": out.stderr[-300:]}
            row["wall_s"] = round(time.perf_counter() - started, 1)
            if row.get("seconds"):
                row["rtf"] = round(row["seconds"] / (minutes * 60), 4)
            results[name] = row
    return {
        "minutes": minutes,
        "input": "48 kHz stereo PCM 16",
        "decoded_float32_mb": round(decoded_mb),
        "tools": results,
    }


def print_result(result: dict) -> None:
    print(f"Long input: {result['minutes']:g} min, {result['input']}, {result['decoded_float32_mb']} MB as float32")
    for name, r in result["tools"].items():
        if r.get("status") != "ok":
            print(f"  {name:12} {r.get('status')}: {r.get('error')}")
            continue
        print(
            f"  {name:12} peak RSS {r['peak_rss_mb']:7.0f} MB (before the tool {r['rss_before_mb']:5.0f} MB)  "
            f"{r['seconds']:7.1f} s  RTF {r['rtf']:.3f}  progress reports {r['progress_reports']}"
        )
