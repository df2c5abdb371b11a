"""`earshot bench plan | llm | startup | models | latency | aec | turn-end | asr | crash | soak | long |
library`: figures (and JSON), never test assertions."""

from __future__ import annotations

import json
import sys

from ..config import load_config


def run(args) -> int:
    commands = {
        "plan": _plan,
        "llm": _llm,
        "startup": _startup,
        "models": _models,
        "latency": _latency,
        "aec": _aec,
        "turn-end": _turn_end,
        "asr": _asr,
        "crash": _crash,
        "soak": _soak,
        "long": _long,
        "library": _library,
    }
    result, printer = commands[args.bench_command](args)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        printer(result)
    return 0


def _plan(args):
    from ..bench.plan_bench import print_result, run_plan_bench

    return run_plan_bench(
        load_config(),
        llm=args.llm,
        labelled=args.set,
        limit=args.limit,
        progress=not args.json,
        command_path=not args.no_command_path,
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
        turn_end=args.turn_end,
        asr_engine=args.asr_engine,
    ), print_result


def _aec(args):
    from ..bench.aec_bench import print_result, run_aec_bench

    return run_aec_bench(), print_result


def _voices(args) -> tuple[str, ...]:
    return tuple(v.strip() for v in args.voices.split(",") if v.strip())


def _turn_end(args):
    from ..bench.turn_end_bench import print_result, run_turn_end_bench

    return run_turn_end_bench(
        load_config(), voices=_voices(args), limit=args.limit, hesitation_ms=args.hesitation_ms, progress=not args.json
    ), print_result


def _asr(args):
    from ..bench.asr_bench import print_result, run_asr_bench

    return run_asr_bench(
        load_config(), voices=_voices(args), limit=args.limit, engines=args.engine, progress=not args.json
    ), print_result


def _crash(args):
    from ..bench.crash_bench import print_result, run_crash_bench

    report = (lambda msg: print(msg, file=sys.stderr, flush=True)) if not args.json else None
    return run_crash_bench(trials=args.trials, seed=args.seed, home=args.home, progress=report), print_result


def _soak(args):
    from ..bench.soak_bench import print_result, run_soak_bench

    report = (lambda msg: print(msg, file=sys.stderr, flush=True)) if not args.json else None
    return run_soak_bench(minutes=args.minutes, llm=args.llm, progress=report, home=args.home), print_result


def _long(args):
    from ..bench.long_bench import print_result, run_long_bench

    tools = tuple(args.tool) if args.tool else None
    return run_long_bench(args.minutes, tools or run_long_bench.__defaults__[1], progress=not args.json), print_result


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
