"""`earshot bench plan | startup | models | latency | aec | library`: figures (and JSON), never test assertions."""

from __future__ import annotations

import json
import sys

from ..config import load_config


def run(args) -> int:
    result, printer = {
        "plan": _plan,
        "startup": _startup,
        "models": _models,
        "latency": _latency,
        "aec": _aec,
        "library": _library,
    }[args.bench_command](args)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        printer(result)
    return 0


def _plan(args):
    from ..bench.plan_bench import print_result, run_plan_bench

    return run_plan_bench(
        load_config(), llm=args.llm, labelled=args.set, limit=args.limit, progress=not args.json
    ), print_result


def _startup(args):
    from ..bench.startup_bench import print_result, run_startup_bench

    return run_startup_bench(runs=args.runs), print_result


def _models(args):
    from ..bench.models_bench import print_result, run_models_bench

    report = (lambda msg: print(f"… {msg}", file=sys.stderr, flush=True)) if not args.json else None
    return run_models_bench(
        load_config(),
        use_torch=not args.no_torch,
        quick=args.quick,
        repeats=3 if args.quick else 7,
        models=args.model,
        progress=report,
    ), print_result


def _latency(args):
    from ..bench.latency_bench import print_result, run_latency_bench

    return run_latency_bench(
        utterances=args.utterances,
        baseline=not args.skip_baseline,
        wake=not args.skip_wake,
        llm=args.llm,
        progress=not args.json,
    ), print_result


def _aec(args):
    from ..bench.aec_bench import print_result, run_aec_bench

    return run_aec_bench(), print_result


def _library(args):
    from ..bench.library_bench import print_result, run_library_bench

    return run_library_bench(
        load_config(),
        files=args.files,
        sample=args.sample,
        root=args.root,
        crash=not args.no_crash,
        questions=not args.no_questions,
        llm=args.llm,
        progress=not args.json,
        seed=args.seed,
        index=args.index,
    ), print_result
