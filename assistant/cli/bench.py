"""`earshot bench plan | llm | startup | models | latency | aec`: figures (and JSON), never test assertions."""

from __future__ import annotations

import json
import sys

from ..config import load_config


def run(args) -> int:
    result, printer = {
        "plan": _plan,
        "llm": _llm,
        "startup": _startup,
        "models": _models,
        "latency": _latency,
        "aec": _aec,
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


def _llm(args):
    from ..bench.llm_bench import DEFAULT_OPTIONS, print_result, run_llm_bench

    report = (lambda msg: print(f"… {msg}", file=sys.stderr, flush=True)) if not args.json else None
    options = tuple(args.option) if args.option else DEFAULT_OPTIONS
    return run_llm_bench(load_config(), options, limit=args.limit, micro=args.micro, progress=report), print_result


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
        commands=args.commands,
        baseline=not args.skip_baseline,
        wake=not args.skip_wake,
        llm=args.llm,
        progress=not args.json,
    ), print_result


def _aec(args):
    from ..bench.aec_bench import print_result, run_aec_bench

    return run_aec_bench(), print_result
