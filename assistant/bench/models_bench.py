"""`earshot bench models`: latency per call and real-time factor of each exported ONNX model, per
provider, for typical input lengths — with the torch source model measured in the same run, on the same
inputs and the same number of threads, and the ratio (how many times faster ONNX Runtime is).

Calls alternate between ONNX Runtime and torch, so a busy neighbour slows both alike; each figure is the
median of the repeats. Without torch (it is only in the `export` extra) the ONNX figures are still
measured and the baseline is reported as missing. The target: ONNX on the CPU ≥ 1.5x torch on the CPU
for the models the tools run.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..config import EarshotConfig

TARGET_SPEEDUP = 1.5
# What a tool typically sends: a short phrase, a sung line, a verse (CREPE: 100 frames per second of audio).
AUDIO_LENGTHS_S = (1.0, 4.0, 10.0)
IMAGE_BATCHES = (1, 4)


def _inputs(name: str, quick: bool) -> list[tuple[str, np.ndarray, float | None]]:
    """(label, input, seconds of audio it stands for, or None for images)."""
    from ..audio_models.pitch import crepe_frames

    rng = np.random.default_rng(0)
    if name.startswith("crepe"):
        rows = []
        for seconds in AUDIO_LENGTHS_S[:1] if quick else AUDIO_LENGTHS_S:
            t = np.arange(int(seconds * 16_000)) / 16_000
            audio = (0.4 * np.sin(2 * np.pi * 220 * t) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
            frames = crepe_frames(audio)
            rows.append((f"{seconds:g} s audio ({len(frames)} frames)", frames, seconds))
        return rows
    return [
        (f"{b} image{'s' if b > 1 else ''} 224x224", rng.uniform(-1, 1, (b, 3, 224, 224)).astype(np.float32), None)
        for b in (IMAGE_BATCHES[:1] if quick else IMAGE_BATCHES)
    ]


def _torch_model(name: str, entry: dict):
    """The torch source of an exported model, or None when torch/the export extra is missing."""
    try:
        import importlib.util
        import sys
        from pathlib import Path

        script = Path(__file__).resolve().parents[2] / "scripts" / "export_models.py"
        if "export_models" not in sys.modules:
            spec = importlib.util.spec_from_file_location("export_models", script)
            module = importlib.util.module_from_spec(spec)
            sys.modules["export_models"] = module
            spec.loader.exec_module(module)
        em = sys.modules["export_models"]
        return em.BUILTINS[entry.get("variant_of", name)].build()
    except (ImportError, SystemExit, FileNotFoundError, KeyError):
        return None


def _time_pair(
    onnx_call: Callable[[], object], torch_call: Callable[[], object] | None, repeats: int, budget_s: float
) -> tuple[list[float], list[float]]:
    onnx_call()  # warm-up: first calls allocate and pick kernels
    if torch_call:
        torch_call()
    a, b = [], []
    start = time.perf_counter()
    while len(a) < repeats and (len(a) < 3 or time.perf_counter() - start < budget_s):
        t = time.perf_counter()
        onnx_call()
        a.append((time.perf_counter() - t) * 1000)
        if torch_call:
            t = time.perf_counter()
            torch_call()
            b.append((time.perf_counter() - t) * 1000)
    return a, b


def run_models_bench(
    config: EarshotConfig,
    *,
    use_torch: bool = True,
    quick: bool = False,
    repeats: int = 7,
    budget_s: float = 6.0,
    models: list[str] | None = None,
    progress=None,
) -> dict:
    import onnxruntime as ort

    from ..runtime import onnx

    threads = config.accelerator.cpu_threads or max(1, os.cpu_count() or 2)
    torch = None
    if use_torch:
        try:
            import torch as _torch

            torch = _torch
            torch.set_num_threads(threads)
        except ImportError:
            torch = None
    manifest = onnx.load_manifest(onnx.exports_dir(config))
    names = models or list(manifest["models"])
    available = onnx.available_providers()
    chains = onnx.candidate_chains("auto", available)
    rows = []
    for name in names:
        model = onnx.exported_model(name, config)
        entry = model.entry
        module = _torch_model(name, entry) if torch is not None else None
        for chain in chains:
            provider_config = replace(config, accelerator=replace(config.accelerator, onnx_providers=",".join(chain)))
            try:
                session, provider, notes = onnx.create_session(model.path, provider_config, available)
            except Exception as exc:
                rows.append({"model": name, "provider": chain[0], "error": str(exc)})
                continue
            if provider != chain[0]:
                continue  # fell back: that provider's row is measured on its own chain
            input_name = session.get_inputs()[0].name
            # Variants the tools do not run (int8) are measured at the shortest input only.
            for label, x, seconds in _inputs(name, quick or bool(entry.get("variant_of"))):
                if progress:
                    progress(f"{name} on {provider}: {label}")
                onnx_call = lambda s=session, x=x, n=input_name: s.run(None, {n: x})
                torch_call = None
                if module is not None and provider == onnx.CPU:
                    tx = torch.from_numpy(x)

                    def torch_call(m=module, tx=tx):
                        with torch.no_grad():
                            return m(tx)

                a, b = _time_pair(onnx_call, torch_call, repeats, budget_s)
                onnx_ms = statistics.median(a)
                row = {
                    "model": name,
                    "variant": "int8" if entry.get("variant_of") else "fp32",
                    "used_by_tools": not entry.get("variant_of"),
                    "provider": provider,
                    "input": label,
                    "audio_s": seconds,
                    "calls": len(a),
                    "onnx_ms": round(onnx_ms, 2),
                    "onnx_rtf": round(onnx_ms / 1000 / seconds, 4) if seconds else None,
                }
                if b:
                    torch_ms = statistics.median(b)
                    row.update(
                        torch_ms=round(torch_ms, 2),
                        torch_rtf=round(torch_ms / 1000 / seconds, 4) if seconds else None,
                        speedup=round(torch_ms / onnx_ms, 2),
                    )
                else:
                    row.update(torch_ms=None, torch_rtf=None, speedup=None)
                rows.append(row)
    cpu_rows = [r for r in rows if r.get("provider") == onnx.CPU and r.get("used_by_tools") and r.get("speedup")]
    by_model: dict[str, list[float]] = {}
    for r in cpu_rows:
        by_model.setdefault(r["model"], []).append(r["speedup"])
    summary = {
        "target_speedup_cpu": TARGET_SPEEDUP,
        "min_speedup_cpu_by_model": {m: min(v) for m, v in by_model.items()},
        "target_met": (all(min(v) >= TARGET_SPEEDUP for v in by_model.values()) if by_model else None),
        "torch_baseline": torch is not None,
    }
    if torch is None:
        summary["note"] = (
            "torch is not installed, so there is no baseline: install the export extra "
            "(./install.sh --export) to measure it"
        )
    return {
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "threads": threads,
            "onnxruntime": ort.__version__,
            "torch": getattr(torch, "__version__", None),
            "providers_available": available,
        },
        "method": "median latency per call over alternating ONNX Runtime / torch calls after one warm-up call "
        "each; same inputs, same thread count; RTF = latency / audio duration",
        "rows": rows,
        "summary": summary,
    }


def print_result(result: dict) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    m = result["machine"]
    table = Table(
        title=f"ONNX models — {m['threads']} threads, onnxruntime {m['onnxruntime']}, "
        f"torch {m['torch'] or 'not installed'}"
    )
    for col in ("model", "provider", "input", "ONNX ms", "ONNX RTF", "torch ms", "torch RTF", "ONNX speed-up"):
        table.add_column(col, justify="right" if col not in ("model", "provider", "input") else "left")
    for r in result["rows"]:
        if "error" in r:
            table.add_row(r["model"], r["provider"], escape(r["error"]), "", "", "", "", "")
            continue
        name = r["model"] + ("" if r["used_by_tools"] else " (not used by tools)")
        fmt = lambda v, spec: "—" if v is None else format(v, spec)
        table.add_row(
            name,
            r["provider"].replace("ExecutionProvider", ""),
            r["input"],
            fmt(r["onnx_ms"], ".1f"),
            fmt(r["onnx_rtf"], ".3f"),
            fmt(r["torch_ms"], ".1f"),
            fmt(r["torch_rtf"], ".3f"),
            "—" if r["speedup"] is None else f"{r['speedup']:.2f}x",
        )
    Console(width=max(Console().width, 132)).print(table)
    s = result["summary"]
    if s["torch_baseline"]:
        mins = ", ".join(f"{k} {v:.2f}x" for k, v in s["min_speedup_cpu_by_model"].items())
        print(
            f"ONNX CPU vs torch CPU, slowest case per model: {mins} — target ≥ {s['target_speedup_cpu']}x: "
            f"{'met' if s['target_met'] else 'NOT met'}"
        )
    else:
        print(s["note"])
