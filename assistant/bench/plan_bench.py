"""`earshot bench plan`: routing accuracy on the labelled set, plan latency and tokens/s.

Every request is planned (never executed) against the same prepared session: a workspace with a few
audio files, four artifacts and one earlier turn, so references like "@a4", "that" and "the
denoised memo" have something real to resolve to. In the same run it measures a cold plan (the
prompt prefix evaluated from scratch) against the warm median (prefix reused from the KV cache).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np

from ..config import EarshotConfig, PathOptions


def load_labelled(path: Path | None = None) -> list[dict]:
    """The labelled requests: one JSON file, or (default) every file of the project's routing set,
    `assistant/bench/routing/*.json` — one file per area of tools, in name order."""
    if path is not None:
        return json.loads(Path(path).read_text(encoding="utf-8"))["requests"]
    folder = resources.files("assistant.bench").joinpath("routing")
    items: list[dict] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            items += json.loads(entry.read_text(encoding="utf-8"))["requests"]
    return items


def prepare_session(home: Path, models_dir: Path):
    """The fixed context every labelled request is planned against (see routing/core.json)."""
    import soundfile as sf

    from ..store.session import SessionStore

    store = SessionStore(home / "earshot.db")
    session = store.create_session(home / "workspace")
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(16000 * 3) / 16000)).astype(np.float32)
    for name in (
        "interview.wav",
        "memo.wav",
        "memo-denoised.wav",
        "song.wav",
        "take2.wav",
        "voicemail.wav",
        "podcast.flac",
    ):
        sf.write(session.workspace / name, tone, 16000)
    (session.workspace / "interview-transcript.txt").write_text("Welcome to the show.")
    _write_photo(session.workspace / "beach.jpg")  # a picture, for image_to_audio requests
    (session.workspace / "song.dawproject").write_bytes(
        b"PK\x05\x06" + bytes(18)
    )  # an empty zip (routing/project.json)
    session.add_artifact(session.workspace / "interview.wav", "input", duration_s=3.0, sample_rate_hz=16000, channels=1)
    session.add_artifact(session.workspace / "interview-transcript.txt", "text", tool="transcribe", parents=("@a1",))
    session.add_artifact(session.workspace / "memo.wav", "input", duration_s=3.0, sample_rate_hz=16000, channels=1)
    turn = session.begin_turn("clean up memo.wav")  # the turn that made a4, as a live session lists it
    session.add_artifact(
        session.workspace / "memo-denoised.wav",
        "audio",
        tool="denoise",
        parents=("@a3",),
        duration_s=3.0,
        sample_rate_hz=16000,
        channels=1,
    )
    session.end_turn(turn, "ok", reply="Denoised memo.wav → @a4 memo-denoised.wav (3.0 s).")
    return session


def _write_photo(path: Path) -> None:
    """A small JPEG (sky over sea over sand) so requests can name a picture in the bench workspace."""
    from PIL import Image

    rows = np.concatenate(
        [np.tile([135, 190, 235], (40, 1)), np.tile([30, 90, 160], (30, 1)), np.tile([220, 200, 150], (30, 1))]
    ).astype(np.uint8)
    Image.fromarray(np.repeat(rows[:, None, :], 160, axis=1), "RGB").save(path, quality=85)


def score(item: dict, plan) -> tuple[bool, str]:
    """Right tools in the right order, the expected argument values, and `say` for chat."""
    if plan is None:
        return False, "no valid plan"
    tools = [s.tool for s in plan.steps]
    if tools != item["tools"]:
        # A few requests are answered equally by two tools (a file's tempo: describe or tag); the
        # label lists the other tool sequence under "also_ok", and only file arguments are checked.
        if tools in item.get("also_ok", []):
            item = {
                **item,
                "expect": {
                    k: v
                    for k, v in item.get("expect", {}).items()
                    if k.endswith(".file") and int(k.split(".")[0]) <= len(tools)
                },
            }
        else:
            return False, f"tools {tools}"
    if not item["tools"] and not plan.say:
        return False, "chat without a reply"
    for key, allowed in item.get("expect", {}).items():
        step, arg = key.split(".", 1)
        planned = plan.steps[int(step) - 1]
        # An argument the plan leaves out takes the tool's default ("in the heart voice" is the default voice).
        value = planned.args[arg] if arg in planned.args else _default(planned.tool, arg)
        ok = any(
            value == a or (isinstance(a, (int, float)) and isinstance(value, (int, float)) and abs(value - a) < 1e-6)
            for a in allowed
        )
        if not ok:
            return False, f"{key}={value!r}, expected one of {allowed}"
    return True, ""


def _default(tool: str, arg: str):
    import dataclasses

    from ..audio_models.registry import default_registry

    registry = default_registry()
    for f in dataclasses.fields(registry.get(tool).args_type) if tool in registry else ():
        if f.name == arg and f.default is not dataclasses.MISSING:
            return f.default
    return None


def run_plan_bench(
    config: EarshotConfig,
    llm: str | None = None,
    labelled: Path | None = None,
    limit: int | None = None,
    progress: bool = True,
    measure_cold: bool = True,
    command_path: bool = True,
) -> dict:
    import jsonschema

    from ..audio_models.registry import default_registry
    from ..llm.planner import load_planner
    from ..llm.schema import strip_extensions

    items = load_labelled(labelled)[:limit]
    registry = default_registry()
    with tempfile.TemporaryDirectory(prefix="earshot-bench-") as tmp:
        home = Path(tmp)
        cfg = replace(config, paths=PathOptions(home_dir=home, models_dir=config.paths.models_dir))
        session = prepare_session(home, cfg.paths.models_dir)
        t0 = time.perf_counter()
        planner = load_planner(cfg, registry, llm)
        load_ms = (time.perf_counter() - t0) * 1000
        validator = jsonschema.Draft202012Validator(strip_extensions(planner.schema))

        # Cold: nothing of the prompt in the KV cache (what a naive one-shot call pays every time).
        # Tests skip it: it evaluates the whole ~3,500-token prefix once more just to report it.
        cold_ms = None
        if measure_cold:
            planner.llm.llm.reset()
            states, planner.llm.states = planner.llm.states, None  # nor restored from a state on disk
            try:
                cold_ms = planner.plan(items[0]["request"], session, cfg.paths.allowed_roots).plan_ms
            finally:
                planner.llm.states = states
        planner.warm()

        # The command path (llm/commands/) goes first, as in a turn; what it declines goes to the LLM.
        fast_path = None
        if command_path:
            from ..llm.commands import command_path as path_of

            fast_path = path_of(registry)
        rows, latencies, tok_rates, schema_valid = [], [], [], 0
        bar = _progress(len(items)) if progress else None
        for item in items:
            outcome = fast_path.plan(item["request"], session, cfg.paths.allowed_roots) if fast_path else None
            if outcome is None:
                outcome = planner.plan(item["request"], session, cfg.paths.allowed_roots)
            first = outcome.attempts[0]
            try:
                validator.validate(json.loads(first.raw))
                schema_valid += 1
            except (jsonschema.ValidationError, ValueError):
                pass
            ok, why = score(item, outcome.plan)
            latencies.append(outcome.plan_ms)
            if outcome.completion_tokens:
                tok_rates.append(outcome.completion_tokens / (outcome.plan_ms / 1000))
            rows.append(
                {
                    "request": item["request"],
                    "category": item["category"],
                    "expected": item["tools"],
                    "got": outcome.plan.to_json() if outcome.plan else None,
                    "ok": ok,
                    "why": why,
                    "planner": outcome.planner,
                    "attempts": len(outcome.attempts),
                    "plan_ms": round(outcome.plan_ms, 1),
                    "prompt_tokens": first.prompt_tokens,
                    "cached_prompt_tokens": first.cached_prompt_tokens,
                }
            )
            if bar:
                bar[0].advance(bar[1])
        if bar:
            bar[0].stop()
    by_cat: dict[str, list[bool]] = {}
    for r in rows:
        by_cat.setdefault(r["category"], []).append(r["ok"])
    correct = sum(r["ok"] for r in rows)
    fast = [r for r in rows if r["planner"] == "fast"]
    fast_by_cat: dict[str, list[bool]] = {}
    for r in rows:
        fast_by_cat.setdefault(r["category"], []).append(r["planner"] == "fast")
    return {
        "model": llm or config.models.llm,
        "requests": len(rows),
        "correct": correct,
        "accuracy": round(correct / max(len(rows), 1), 4),
        "by_category": {k: round(sum(v) / len(v), 3) for k, v in by_cat.items()},
        "command_path": command_path,
        "fast": len(fast),
        "fast_share": round(len(fast) / max(len(rows), 1), 4),
        "fast_share_by_category": {k: round(sum(v) / len(v), 3) for k, v in fast_by_cat.items()},
        # The measure: every plan the command path makes must equal its label.
        "fast_wrong": [r for r in fast if not r["ok"]],
        "llm_accuracy": round(sum(r["ok"] for r in rows if r["planner"] == "llm") / max(len(rows) - len(fast), 1), 4),
        "median_fast_plan_ms": round(statistics.median(r["plan_ms"] for r in fast), 2) if fast else None,
        "median_llm_plan_ms": (
            round(statistics.median(r["plan_ms"] for r in rows if r["planner"] == "llm"), 1)
            if len(fast) < len(rows)
            else None
        ),
        "schema_valid_first_attempt": schema_valid,
        "repaired": sum(r["attempts"] > 1 for r in rows),
        "median_plan_ms": round(statistics.median(latencies), 1),
        "p90_plan_ms": round(float(np.percentile(latencies, 90)), 1),
        "tokens_per_s": round(statistics.median(tok_rates), 1) if tok_rates else None,
        "median_prompt_tokens": int(statistics.median(r["prompt_tokens"] for r in rows)),
        "median_cached_prompt_tokens": int(statistics.median(r["cached_prompt_tokens"] for r in rows)),
        "cold_plan_ms": round(cold_ms, 1) if cold_ms else None,
        "warm_vs_cold_ratio": round(statistics.median(latencies) / cold_ms, 3) if cold_ms else None,
        "model_load_ms": round(load_ms, 1),
        "failures": [r for r in rows if not r["ok"]],
        "rows": rows,
    }


def _progress(total: int):
    from rich.progress import Progress

    bar = Progress(transient=True)
    bar.start()
    return bar, bar.add_task("planning", total=total)


def print_result(result: dict) -> None:
    print(
        f"planner {result['model']}: {result['correct']}/{result['requests']} routed right "
        f"({result['accuracy']:.1%}); by category: "
        + ", ".join(f"{k} {v:.0%}" for k, v in result["by_category"].items())
    )
    if result.get("command_path"):
        print(
            f"command path: {result['fast']}/{result['requests']} planned without the LLM "
            f"({result['fast_share']:.1%}; median {result['median_fast_plan_ms']} ms), "
            f"{len(result['fast_wrong'])} of them different from the label; by category: "
            + ", ".join(f"{k} {v:.0%}" for k, v in result["fast_share_by_category"].items())
            + f"; the LLM got {result['llm_accuracy']:.1%} of the rest"
        )
        for f in result["fast_wrong"]:
            print(f"  ✗ command path: {f['request']!r}: {f['why']}")
    print(
        f"schema-valid on first attempt: {result['schema_valid_first_attempt']}/{result['requests']}; "
        f"repaired: {result['repaired']}"
    )
    print(
        f"plan latency: median {result['median_plan_ms']:.0f} ms, p90 {result['p90_plan_ms']:.0f} ms"
        + (
            f"; cold (no prefix cache) {result['cold_plan_ms']:.0f} ms → warm/cold {result['warm_vs_cold_ratio']}"
            if result["cold_plan_ms"]
            else ""
        )
    )
    print(
        f"generation: {result['tokens_per_s']} tokens/s; prompt {result['median_prompt_tokens']} tokens "
        f"of which {result['median_cached_prompt_tokens']} reused from the KV cache"
    )
    for f in result["failures"]:
        print(f"  ✗ {f['request']!r}: expected {f['expected']}, {f['why']}")
