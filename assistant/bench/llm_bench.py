"""`earshot bench llm`: options of the LLM path, each against the default on the same requests, in turns.

Every option is measured in one process on one loaded model, request by request and in rotating order
(default, option, option …), so the load of a shared machine falls on all of them alike; each plan starts
from the same evaluated context (the session's files and turns, as a one-shot process restores it) and
evaluates its own request. Per option: routing accuracy on the requests, how many plans are byte-identical
to the default's, the median plan time and the median of the per-request ratio to the default. With
`--micro`: prompt evaluation and free decoding tokens/s at the depth of the tool list, per thread setting.

Options (names for `--option`):
  threads-1            1 thread for decoding and prompt evaluation (default: one per core)
  threads-1-decode     1 thread for decoding, one per core for prompt evaluation
  lookup-4, lookup-8   prompt-lookup decoding with up to 4 / 8 draft tokens (runtime/greedy.py)
  opening-none         nothing of the plan's opening evaluated with the prompt (decoded token by token)
  opening-work         work requests (hints.needs_steps) open with `{"say":null,"steps":[{"tool":"`, the
                       grammar-forced text after "say": null, evaluated with the prompt (jump-forward)
  model:PATH           another GGUF of the same model (a Q4_0 requantisation, say), as a whole
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..config import EarshotConfig, PathOptions

DEFAULT_OPTIONS = ("threads-1", "threads-1-decode", "lookup-4", "lookup-8", "opening-none", "opening-work")
WORK_OPENING_LONG = '{"say":null,"steps":[{"tool":"'


def spread(items: list, limit: int | None) -> list:
    """`limit` items spread evenly over the whole list (every area of tools), not the first ones."""
    if not limit or limit >= len(items):
        return items
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def run_llm_bench(
    config: EarshotConfig,
    options: tuple[str, ...] = DEFAULT_OPTIONS,
    limit: int | None = 24,
    micro: bool = False,
    repeats: int = 3,
    progress=None,
) -> dict:
    from ..audio_models.registry import default_registry
    from ..llm import planner as planner_module
    from ..llm.planner import Planner, load_planner
    from ..llm.streaming import StreamingPlanner
    from ..runtime.llm import LlmClient
    from .plan_bench import load_labelled, prepare_session, score

    items = spread(load_labelled(), limit)
    registry = default_registry()
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="earshot-bench-") as tmp:
        home = Path(tmp)
        cfg = replace(config, paths=PathOptions(home_dir=home, models_dir=config.paths.models_dir))
        session = prepare_session(home, cfg.paths.models_dir)
        base = load_planner(cfg, registry)
        base.warm()
        planners = {"default": base}
        for name in options:
            if name.startswith("model:"):
                path = Path(name.split(":", 1)[1]).expanduser()
                client = LlmClient(path, cfg.llm, cache_dir=cfg.paths.cache_dir / "kv")
                planners[name] = Planner(client, registry, cfg.planner)
                say(f"{path.name}: {planners[name].warm()}")
        contexts = {
            id(p.llm): p.llm.count_tokens(StreamingPlanner(p).context_prefix(session)) - 2 for p in planners.values()
        }
        threads = base.llm.llm.n_threads if hasattr(base.llm.llm, "n_threads") else None
        cores = cfg.llm.threads or threads or 2

        @contextlib.contextmanager
        def applied(name: str):
            planner = planners.get(name, base)
            llm = planner.llm
            saved = (llm.options, planner_module.PLAN_OPENING, planner_module.PLAN_OPENING_WORK)
            try:
                if name == "threads-1":
                    _threads(llm, 1, 1)
                elif name == "threads-1-decode":
                    _threads(llm, 1, cores)
                elif name.startswith("lookup-"):
                    llm.options = replace(llm.options, prompt_lookup_tokens=int(name.split("-")[1]))
                elif name == "opening-none":
                    planner_module.PLAN_OPENING = planner_module.PLAN_OPENING_WORK = ""
                elif name == "opening-work":
                    planner_module.PLAN_OPENING_WORK = WORK_OPENING_LONG
                yield planner
            finally:
                llm.options = saved[0]
                planner_module.PLAN_OPENING, planner_module.PLAN_OPENING_WORK = saved[1], saved[2]
                _threads(llm, cores, cores)

        names = ["default", *options]
        rows: dict[str, list[dict]] = {n: [] for n in names}
        for i, item in enumerate(items):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                with applied(name) as planner:
                    llm = planner.llm
                    llm.llm.n_tokens = min(llm.llm.n_tokens, contexts[id(llm)])
                    outcome = planner.plan(item["request"], session, cfg.paths.allowed_roots)
                    drafted, accepted = llm.decoder.drafted, llm.decoder.accepted
                ok, why = score(item, outcome.plan)
                rows[name].append(
                    {
                        "request": item["request"],
                        "ok": ok,
                        "why": why,
                        "raw": outcome.attempts[0].raw,
                        "plan_ms": round(outcome.plan_ms, 1),
                        "completion_tokens": outcome.completion_tokens,
                        "evaluated_prompt_tokens": outcome.evaluated_prompt_tokens,
                        "drafted": drafted,
                        "accepted": accepted,
                    }
                )
            say(f"{i + 1}/{len(items)} {item['request'][:50]!r}")

        result: dict = {
            "model": config.models.llm,
            "requests": len(items),
            "threads_default": cores,
            "options": {},
        }
        for name in names:
            own, ref = rows[name], rows["default"]
            ratios = [a["plan_ms"] / b["plan_ms"] for a, b in zip(own, ref) if b["plan_ms"] > 0]
            result["options"][name] = {
                "correct": sum(r["ok"] for r in own),
                "identical_to_default": sum(a["raw"] == b["raw"] for a, b in zip(own, ref)),
                "median_plan_ms": round(statistics.median(r["plan_ms"] for r in own), 1),
                "median_ratio_to_default": round(statistics.median(ratios), 3) if ratios else None,
                "completion_tokens": sum(r["completion_tokens"] for r in own),
                "drafted": sum(r["drafted"] for r in own),
                "accepted": sum(r["accepted"] for r in own),
                "failures": [(r["request"], r["why"]) for r in own if not r["ok"]],
            }
        result["rows"] = rows
        if micro:
            result["micro"] = {
                name: _micro(planners.get(name, base).llm, planners.get(name, base), session, repeats, applied, name)
                for name in ["default", "threads-1", "threads-1-decode"]
                + [n for n in options if n.startswith("model:")]
            }
    return result


def _threads(client, decode: int, batch: int) -> None:
    client._llama_cpp.llama_set_n_threads(client.llm._ctx.ctx, decode, batch)


def _micro(client, planner, session, repeats: int, applied, name: str) -> dict:
    """Prompt evaluation of the session's context on top of the tool list, and 32 freely decoded tokens."""
    from ..llm.streaming import StreamingPlanner

    static = client.count_tokens(planner.prefix())
    context = client.llm.tokenize(
        StreamingPlanner(planner).context_prefix(session).encode(), add_bos=False, special=True
    )[static:]
    prefill, decode = [], []
    with applied(name):
        for _ in range(repeats):
            client.llm.n_tokens = static
            t0 = time.perf_counter()
            client.llm.eval(context)
            prefill.append(len(context) / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            for _ in range(32):
                logits = client.decoder._logits(-1)
                client.llm.eval([int(np.argmax(logits))])
            decode.append(32 / (time.perf_counter() - t0))
    return {
        "context_tokens": len(context),
        "depth_tokens": static,
        "prompt_tokens_per_s": round(statistics.median(prefill), 1),
        "decode_tokens_per_s": round(statistics.median(decode), 1),
    }


def print_result(result: dict) -> None:
    print(
        f"LLM path options on {result['requests']} requests ({result['model']}, default {result['threads_default']} "
        "threads); each against the default on the same requests, in turns:"
    )
    base = result["options"]["default"]
    for name, o in result["options"].items():
        extra = f", drafts kept {o['accepted']}/{o['drafted']}" if o["drafted"] else ""
        print(
            f"  {name:<18} routed {o['correct']}/{result['requests']} (default {base['correct']}), "
            f"identical plans {o['identical_to_default']}/{result['requests']}, "
            f"median plan {o['median_plan_ms']:.0f} ms, "
            f"median ratio to default {o['median_ratio_to_default']}{extra}"
        )
    for name, m in result.get("micro", {}).items():
        print(
            f"  micro {name:<16} prompt {m['prompt_tokens_per_s']} tok/s ({m['context_tokens']} tokens at depth "
            f"{m['depth_tokens']}), decode {m['decode_tokens_per_s']} tok/s"
        )
