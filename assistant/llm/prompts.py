"""The planner's prompt: a stable prefix (rules, tool list, examples) and a per-turn part.

The prefix must be byte-identical across turns: llama.cpp then reuses its KV cache and only the
per-turn part (artifact table, recent turns, the request) is evaluated. Keep tool summaries short:
every token of the prefix is paid once per process, every token of the per-turn part per request.
"""
from __future__ import annotations

import json
import typing
from dataclasses import MISSING, fields
from typing import Literal, get_args, get_origin

from ..session import Artifact

RULES = """You are Earshot, an offline assistant for audio work. Turn the user's request into a JSON plan.
- "steps" run in order. Use only the tools below, with their argument names.
- A file argument is "@a3" (artifact a3 from the file list), "@last" (the newest file), "$1" (the output of step 1) or a workspace file name. "it", "that" and "the result" mean "@last".
- Inside one request, "it" after an earlier step means that step's output: "$1", "$2" (not "@last", which is an older file).
- Text arguments may be "$1" to use the text step 1 produced (e.g. a transcript).
- Do only what is asked: no extra steps.
- Questions and conversation (greetings, thanks, what you can do): no steps, reply in "say" in one or two short sentences. Your reply is "say", never a speak step.
- If the request is unclear or names no file, no steps: ask in "say".
- "say" is null when steps do the work.
- Tracks and clips of the studio project are named in words ("the drums", "track 2", "the second vocal clip"), never "@a…"."""

# (request, plan, tools it needs). Only examples whose tools are all registered are shown.
EXAMPLES: tuple[tuple[str, dict, tuple[str, ...]], ...] = (
    ("make that 3 dB louder",
     {"steps": [{"tool": "edit", "args": {"op": "gain", "file": "@last", "gain_db": 3}}], "say": None}, ("edit",)),
    ("cut take.wav to its first 10 seconds and fade it out over 1 second",
     {"steps": [{"tool": "edit", "args": {"op": "trim", "file": "take.wav", "start_s": 0, "end_s": 10}},
                {"tool": "edit", "args": {"op": "fade", "file": "$1", "fade_out_s": 1}}], "say": None}, ("edit",)),
    ("what does the singer say in clip.wav?",
     {"steps": [{"tool": "transcribe", "args": {"file": "clip.wav"}}], "say": None}, ("transcribe",)),
    ("how loud is take2.wav?",
     {"steps": [{"tool": "describe", "args": {"file": "take2.wav"}}], "say": None}, ("describe",)),
    ("say good morning and save it",
     {"steps": [{"tool": "speak", "args": {"text": "Good morning."}}], "say": None}, ("speak",)),
    ("remove the noise from @a2 and then transcribe it",
     {"steps": [{"tool": "denoise", "args": {"file": "@a2"}}, {"tool": "transcribe", "args": {"file": "$1"}}],
      "say": None}, ("denoise", "transcribe")),
    ("what can you do?",
     {"steps": [], "say": "I work on your audio files: transcribe, clean up, measure, edit and more (/tools lists it all). "
                          "Name a file or an artifact like @a1."},
      ()),
    ("hi!", {"steps": [], "say": "Hi! Name a file and tell me what to do with it."}, ()),
    ("thanks!", {"steps": [], "say": "You're welcome."}, ()),
    # the studio project: tracks and clips are named in words, and one request can make several edits
    ("make the piano track 2 dB louder and pan it a little right",
     {"steps": [{"tool": "track", "args": {"op": "gain", "track": "piano", "gain_db": 2}},
                {"tool": "track", "args": {"op": "pan", "track": "piano", "pan": 0.3}}], "say": None}, ("track",)),
    ("put memo.wav on a new track called voice at bar 3 and add an echo to it",
     {"steps": [{"tool": "clip", "args": {"op": "place", "file": "memo.wav", "track": "voice", "at": 3, "unit": "bars"}},
                {"tool": "track_effect", "args": {"op": "add", "effect": "delay", "track": "voice"}}], "say": None},
     ("clip", "track_effect")),
)


def _type_name(tp) -> str:
    origin = get_origin(tp)
    if origin in (typing.Union, __import__("types").UnionType):
        return _type_name(next(a for a in get_args(tp) if a is not type(None)))
    if tp is Artifact:
        return "file"
    if origin is list:
        return f"list of {_type_name(get_args(tp)[0])}"
    if origin is Literal:
        return "|".join(get_args(tp))
    return {bool: "bool", int: "int", float: "number", str: "text"}.get(tp, str(tp))


def tool_line(tool) -> str:
    """`name(arg: type, opt: type = default): summary` — the compact form the model reads."""
    hints = typing.get_type_hints(tool.args_type)
    parts = []
    for f in fields(tool.args_type):
        text = f"{f.name}: {_type_name(hints[f.name])}"
        if f.default is not MISSING and f.default is not None:
            text += f"={json.dumps(f.default)}"
        elif f.default is not MISSING or f.default_factory is not MISSING:  # type: ignore[misc]
            text += "?"
        unit = f.metadata.get("unit")
        if unit:
            text += f" ({unit})"
        parts.append(text)
    return f"- {tool.name}({', '.join(parts)}): {tool.spec.summary}"


def system_prompt(registry) -> str:
    tools = "\n".join(tool_line(t) for t in registry)
    shown = [(req, plan) for req, plan, need in EXAMPLES if all(n in registry for n in need)]
    examples = "\n".join(f"Request: {req}\nPlan: {json.dumps({'say': plan['say'], 'steps': plan['steps']}, separators=(',', ':'))}"
                         for req, plan in shown)
    return f"{RULES}\n\nTools:\n{tools}\n\nExamples:\n{examples}"


def turn_prompt(request: str, artifact_lines: list[str], workspace_files: list[str],
                recent: list[tuple[str, str]], project: str | None = None) -> str:
    """The per-turn user message. Callers trim the lists (and the project text) to the token budget first."""
    parts = []
    parts.append("Files in this session:\n" + ("\n".join(artifact_lines) if artifact_lines else "(none yet)"))
    if workspace_files:
        parts.append("Other files in the workspace: " + ", ".join(workspace_files))
    if project:
        parts.append("Studio project (tracks, clips c1…, changes #1…):\n" + project)
    if recent:
        parts.append("Recent turns:\n" + "\n".join(f"User: {u}\nEarshot: {r}" for u, r in recent))
    parts.append(f"Request: {request}")
    return "\n\n".join(parts)


def repair_prompt(error: str) -> str:
    return f"That plan is invalid: {error}. Reply with a corrected plan."
