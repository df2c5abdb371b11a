"""A plan: the planner's JSON, parsed and validated against the registry and the session.

    {"steps": [{"tool": NAME, "args": {...}}], "say": TEXT | null}

References in arguments:
    "@a3"    artifact 3 of this session         "@last"  the newest artifact
    "$1"     the output of step 1 of this plan  "memo.wav"  a file in the workspace

Validation happens before anything runs, so a plan naming an unknown tool, a missing file or an
out-of-range value is refused whole (and gets one repair attempt) instead of failing half-way.
"""

from __future__ import annotations

import json
import re
import typing
from dataclasses import MISSING, dataclass, fields
from typing import Any, Literal, get_args, get_origin

from ..errors import EarshotError, PathRefused, PlanInvalid, UnknownFile
from ..store.session import Artifact, Session
from .schema import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH

ARTIFACT_REF = re.compile(r"^@a(\d+)$")
STEP_REF = re.compile(r"^\$(\d+)$")
LAST_REF = "@last"


@dataclass(frozen=True)
class Step:
    tool: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    say: str | None
    raw: str

    def to_json(self) -> dict:
        return {"steps": [{"tool": s.tool, "args": s.args} for s in self.steps], "say": self.say}


@dataclass(frozen=True)
class StepOutput:
    """A placeholder for `$N` while validating: the step exists but has not produced anything yet."""

    step: int


def parse_plan(raw: str, registry, session: Session | None, allowed_roots=(), max_steps: int = 8) -> Plan:
    """Parse and validate. Raises PlanInvalid with a message the model (and the user) can act on."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PlanInvalid(
            f"the plan is not valid JSON ({exc.msg} at character {exc.pos})", "rephrase the request"
        ) from exc
    if not isinstance(data, dict) or set(data) != {"steps", "say"}:
        raise PlanInvalid('a plan must be an object with exactly "steps" and "say"', "rephrase the request")
    steps_raw, say = data["steps"], data["say"]
    if not isinstance(steps_raw, list) or len(steps_raw) > max_steps:
        raise PlanInvalid(f'"steps" must be a list of at most {max_steps} steps', "ask for fewer things at once")
    if say is not None and not isinstance(say, str):
        raise PlanInvalid('"say" must be text or null', "rephrase the request")
    if not steps_raw and not (say or "").strip():
        raise PlanInvalid("the plan has no steps and nothing to say", "rephrase the request")
    steps = []
    for index, step in enumerate(steps_raw, 1):
        if not isinstance(step, dict) or set(step) != {"tool", "args"}:
            raise PlanInvalid(f'step {index} must be {{"tool": ..., "args": {{...}}}}', "rephrase the request")
        name = step["tool"]
        if name not in registry:
            raise PlanInvalid(
                f"step {index} names an unknown tool {name!r}", f"available tools: {', '.join(registry.names())}"
            )
        tool = registry.get(name)
        # Validate by building the Args with placeholders for step outputs (nothing runs here).
        build_args(tool, step["args"], _validating_resolver(session, allowed_roots, index), step_index=index)
        steps.append(Step(name, step["args"]))
    return Plan(tuple(steps), say.strip() if isinstance(say, str) and say.strip() else None, raw)


def _validating_resolver(session, allowed_roots, index):
    def resolve(ref: str, want: str = "file"):
        if want == "text":
            return resolve_text(ref, session, index, None)
        return resolve_ref(ref, session, allowed_roots, index, None)

    return resolve


def resolve_text(ref: str, session: Session | None, step_index: int, texts: dict[int, str] | None) -> str:
    """A text argument that is "$N" becomes the text step N produced (a transcript, say)."""
    m = STEP_REF.match(ref.strip())
    n = int(m.group(1))
    if not 1 <= n < step_index:
        raise PlanInvalid(
            f"{ref!r} in step {step_index} must name an earlier step (1..{step_index - 1})",
            "a step can only use the output of a step before it",
        )
    if texts is None:
        return ref
    if texts.get(n) is None:
        raise EarshotError(f"step {n} produced no text for {ref!r} to use", "rephrase the request")
    return texts[n]


def resolve_ref(
    ref: str, session: Session | None, allowed_roots, step_index: int, outputs: dict[int, Any] | None, limits=None
) -> Artifact | StepOutput:
    """Turn a reference string into an Artifact (or a StepOutput placeholder while validating)."""
    ref = ref.strip()
    if m := STEP_REF.match(ref):
        n = int(m.group(1))
        if not 1 <= n < step_index:
            raise PlanInvalid(
                f"{ref!r} in step {step_index} must name an earlier step (1..{step_index - 1})",
                "a step can only use the output of a step before it",
            )
        if outputs is None:
            return StepOutput(n)
        produced = outputs.get(n)
        if not produced:
            raise EarshotError(f"step {n} produced no file for {ref!r} to use", "rephrase the request")
        return produced
    if session is None:
        raise PlanInvalid(f"{ref!r} cannot be resolved without a session", "")
    if ref == LAST_REF:
        last = session.last_artifact()
        if last is None:
            raise PlanInvalid(
                '"@last" was used, but this session has no files yet', "name a file in the workspace first"
            )
        return last
    if m := ARTIFACT_REF.match(ref):
        try:
            return session.artifact(int(m.group(1)))
        except EarshotError as exc:
            # Usually a guess at the number a step of this very plan will produce.
            raise PlanInvalid(
                exc.message,
                'the output of a step of this plan is "$1", "$2", …; `earshot history` lists the session\'s artifacts',
            ) from None
    if ref.startswith("@"):
        raise PlanInvalid(f"{ref!r} is not a valid reference", 'use "@a3", "@last", "$1" or a file name')
    try:
        path = session.resolve_user_path(ref, tuple(allowed_roots))
    except PathRefused:
        raise  # a path outside the workspace is refused outright, never "repaired" into another file
    except EarshotError as exc:
        raise UnknownFile(ref, exc.message, exc.hint) from None  # the model may fix a name it made up
    known = session.find_artifact_by_path(path)
    if known is not None:
        return known
    if outputs is None:
        return StepOutput(0)  # a valid user file; registered when the step actually runs
    return register_user_file(session, path, limits)


AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".opus", ".m4a"}


def register_user_file(session: Session, path, limits=None) -> Artifact:
    """A user file named in a request becomes an artifact, so history can refer to it.

    An audio file is probed first: a corrupt, empty, NaN or over-long one is refused here, with the
    file and the problem named, and never enters the session. Other files (images, text) are
    registered as they are; the tool that takes them decides."""
    from ..audio.files import load_audio, probe

    if path.suffix.lower() in AUDIO_SUFFIXES:
        info = probe(path, limits)
        # The header can be fine while the samples are not (NaN, undecodable frames): decode it once
        # here, so a bad file is refused before it becomes an artifact of the session.
        load_audio(path, mono=False, limits=limits)
        return session.add_artifact(
            path, "input", duration_s=info.duration_s, sample_rate_hz=info.sample_rate_hz, channels=info.channels
        )
    return session.add_artifact(path, "file")


def build_args(tool, raw_args: Any, resolve, step_index: int = 1):
    """Check and convert raw JSON args into the tool's Args dataclass, resolving file references."""
    name = tool.name
    if not isinstance(raw_args, dict):
        raise PlanInvalid(f"step {step_index} ({name}): args must be an object", "")
    hints = typing.get_type_hints(tool.args_type)
    known = {f.name: f for f in fields(tool.args_type)}
    unknown = set(raw_args) - set(known)
    if unknown:
        raise PlanInvalid(
            f"step {step_index} ({name}): unknown argument(s) {sorted(unknown)}", f"{name} takes {', '.join(known)}"
        )
    values = {}
    for fname, f in known.items():
        if fname not in raw_args:
            if f.default is MISSING and f.default_factory is MISSING:  # type: ignore[misc]
                raise PlanInvalid(f"step {step_index} ({name}): missing argument {fname!r}", "")
            continue
        meta = dict(f.metadata)
        value = _convert(raw_args[fname], hints[fname], meta, f"{name}.{fname}", resolve)
        if "normalize" in meta and isinstance(value, str):
            # A field may accept several spellings ("Spanish" or "es"); the plan keeps the canonical
            # one, so history, replies and later steps all see the same value.
            try:
                canonical = meta["normalize"](value)
            except ValueError as exc:
                raise PlanInvalid(f"step {step_index} ({name}): {fname}: {exc}", "") from None
            if canonical != value and raw_args[fname] == value:
                raw_args[fname] = canonical
            value = canonical
        values[fname] = value
    return tool.args_type(**values)


def _convert(value: Any, tp: Any, meta: dict, where: str, resolve):
    origin = get_origin(tp)
    if origin in (typing.Union, __import__("types").UnionType):
        if value is None:
            return None
        (tp,) = [a for a in get_args(tp) if a is not type(None)]
        origin = get_origin(tp)
    if tp is Artifact:
        if not isinstance(value, str) or not value.strip():
            raise PlanInvalid(f"{where} must name a file", 'use "@a3", "@last", "$1" or a file name')
        return resolve(value)
    if origin is list:
        (item,) = get_args(tp)
        if not isinstance(value, list):
            value = [value]
        limit = meta.get("max_items", DEFAULT_MAX_ITEMS)
        if len(value) > limit:
            raise PlanInvalid(f"{where} takes at most {limit} items, got {len(value)}", "")
        return [_convert(v, item, {}, where, resolve) for v in value]
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise PlanInvalid(f"{where} must be one of {', '.join(map(str, choices))}; got {value!r}", "")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise PlanInvalid(f"{where} must be true or false; got {value!r}", "")
        return value
    if tp in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise PlanInvalid(f"{where} must be a number; got {value!r}", "")
        if tp is int and float(value) != int(value):
            raise PlanInvalid(f"{where} must be a whole number; got {value!r}", "")
        value = tp(value)
        lo, hi = meta.get("min"), meta.get("max")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise PlanInvalid(f"{where} must be between {lo} and {hi}; got {value}", "")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise PlanInvalid(f"{where} must be text; got {value!r}", "")
        if STEP_REF.match(value.strip()):
            return resolve(value, "text")
        if re.fullmatch(r"@(a?\d+|last)", value.strip()):
            # Nobody wants "@last" read aloud or used as a title: a file reference in a text field is a
            # planning slip, and the repair attempt is told how to use a step's text instead.
            raise PlanInvalid(
                f"{where} is text, not a file: {value!r} would be used literally",
                'to use the text an earlier step produced (a transcript), write "$1"',
            )
        limit = meta.get("max_length", DEFAULT_MAX_LENGTH)
        if len(value) > limit:
            raise PlanInvalid(f"{where} is longer than {limit} characters", "")
        return value
    raise PlanInvalid(f"{where}: unsupported type {tp!r}", "")
