"""The command path: a request → one or two validated steps (or a template answer), or None.

    outcome = CommandPath(registry).plan("make memo.wav 3 dB louder", session)   # PlanOutcome | None

None means "not mine": the LLM plans it exactly as before. The path fires only when

- the whole request is consumed by one template (or two, joined by "and"/"then": "… and transcribe it");
- every required argument is bound and every file it names exists (an unknown file → None);
- all readings agree: two templates (or two ways of splitting a request) giving different plans → None;
- the plan validates through `parse_plan`, like any LLM plan (bounds, references, files).
"""

from __future__ import annotations

import functools
import json
import re
import threading
import time
import typing
from dataclasses import MISSING, fields
from pathlib import Path

from ...errors import EarshotError
from ...store.session import Artifact, Session
from ..plan import AUDIO_SUFFIXES, parse_plan
from ..planner import Attempt, PlanOutcome, check_speak
from . import chat, phrases, vocabulary
from .tokens import FILE_SUFFIXES, Tokens, tokenize

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
PROJECT_SUFFIXES = {".dawproject"}
# "it", "that", "them": the newest audio file; after a first step, that step's output ("$1").
PRONOUNS = (
    "(it|that|this|them|those|that file|this file|that one|this one|the result|the output|the last file|"
    "the new file|the newest file|the last one)"
)
TEXT_PRONOUNS = (
    "(it|that|them|the transcript|the transcription|the caption|the translation|the text|the words|the description)"
)
_PRONOUN_TEXT = re.compile(rf"^(?:{TEXT_PRONOUNS[1:-1]}|{PRONOUNS[1:-1]})$", re.IGNORECASE)
# Where a request can be two steps: "X, then Y", "X and then Y", "X and Y".
_JOINS = re.compile(r"(?:\s*,\s*(?:and\s+)?then\s+|\s+and\s+then\s+|\s+then\s+|\s*,\s*and\s+|\s+and\s+|\s*;\s*)")
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"
_DANGLING = re.compile(r"\b(at|in|with|and|for|of|to|on|by|the|a|an)$", re.IGNORECASE)
_POLITE = re.compile(r"^(?:please|kindly)\s+|[\s,]+(?:please|thanks|thank you)$", re.IGNORECASE)
# compose: the description must name a piece of music ("make a rain sound" is generate_sound's).
_MUSIC = re.compile(
    r"\b(tune|song|piece|melody|loop|jingle|music|ballad|groove|theme|anthem|lullaby|waltz|march|riff|"
    r"chord progression|soundtrack|score|sonata|etude|chorale|ditty|hymn|fanfare)s?\b",
    re.IGNORECASE,
)
_NOT_DESCRIPTION = re.compile(
    r"\b(called|named|track|file|project|of it|bpm|bars?|major|minor|in [a-g])\b", re.IGNORECASE
)
CLIP_WORDS = {
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "last",
    "final", "new", "other", "next", "previous", "chorus", "verse", "intro", "outro", "bridge", "drop", "hook",
    "break", "breakdown", "main",
}  # fmt: skip
SKIP_WORDS = ["please", "can you", "could you", "would you", "will you", "i want you to", "i'd like you to", "for me"]


class CommandPath:
    """Templates compiled once per registry (lazily: hassil is imported on first use, ~0.1 s)."""

    def __init__(self, registry) -> None:
        self.registry = registry
        self._intents = None
        self._template_words: frozenset[str] | None = None
        self._targets: dict[str, tuple[str, phrases.Command | None]] = {}
        self._lock = threading.Lock()

    # -- compiling --------------------------------------------------------------------------------
    def warm(self) -> None:
        """Import hassil and compile the templates now rather than on the first request."""
        self._compiled()

    def _compiled(self):
        with self._lock:
            if self._intents is None:
                self._intents = self._compile()
            return self._intents

    def _compile(self):
        from hassil import Intents

        intents: dict[str, dict] = {}
        for i, command in enumerate(phrases.COMMANDS):
            if command.tool not in self.registry:
                continue
            name = f"{command.tool}#{i}"
            intents[name] = {"data": [{"sentences": list(command.sentences)}]}
            self._targets[name] = ("tool", command)
        for key, sentences in chat.CHAT.items():
            intents[f"chat#{key}"] = {"data": [{"sentences": list(sentences)}]}
            self._targets[f"chat#{key}"] = ("chat", None)
        lists: dict[str, dict] = {}
        for name, values in {**vocabulary.enum_lists(self.registry), **phrases.STATIC_LISTS}.items():
            lists[name] = {"values": [{"in": text, "out": value} for text, value in values]}
        lists["language"] = {"values": [{"in": n, "out": c} for n, c in vocabulary.language_values()]}
        lists["compose_key"] = {"values": [{"in": t, "out": v} for t, v in _keys()]}
        effects = vocabulary.SPOKEN[("track_effect", "effect")]
        lists["file_effect"] = {
            "values": [
                {"in": word, "out": chain}
                for value, chain in vocabulary.FILE_CHAIN.items()
                for word in (vocabulary.spoken(value), *effects.get(value, ()))
            ]
        }
        for wildcard in ("text", "description", "name", "lyrics", "_where", "clip_words", "words", "folder"):
            lists[wildcard] = {"wildcard": True}
        # Filled per request (see _lists): placeholders of tokens.py, the project's tracks, pronouns.
        for dynamic in ("file", "image", "project_file", "number", "notes", "sig", "track", "text_ref"):
            lists[dynamic] = {"values": []}
        return Intents.from_dict(
            {
                "language": "en",
                "intents": intents,
                "lists": lists,
                "expansion_rules": phrases.RULES,
                "skip_words": SKIP_WORDS,
            }
        )

    # -- planning ---------------------------------------------------------------------------------
    def plan(
        self, request: str, session: Session | None, allowed_roots: tuple[Path, ...] = (), max_steps: int = 4
    ) -> PlanOutcome | None:
        """A validated plan for `request` (planner "fast"), or None: the LLM's turn."""
        t0 = time.perf_counter()
        if session is None or not request.strip() or len(request) > 300:
            return None
        outcome = self._plan_text(request, session, allowed_roots, max_steps, t0)
        if outcome is not None:
            return outcome
        # The first word misheard by one letter ("Nute the drums track." for "Mute …"): every word of the
        # templates a letter away is tried in its place, and the request is taken only when exactly one of
        # them gives a plan (two plans, or none → the LLM).
        plans = {}
        for text in _first_word_mended(request, self._words()):
            mended = self._plan_text(text, session, allowed_roots, max_steps, t0)
            if mended is not None:
                plans[mended.attempts[0].raw] = mended
        return next(iter(plans.values())) if len(plans) == 1 else None

    def _words(self) -> frozenset[str]:
        """Every word the command templates (and their expansion rules) are written with, of 4+ letters."""
        if self._template_words is None:
            text = " ".join(s for c in phrases.COMMANDS for s in c.sentences) + " " + " ".join(phrases.RULES.values())
            text = re.sub(r"\{[^}]*\}|<[^>]*>", " ", text)  # slots and rule names are not words said
            self._template_words = frozenset(w for w in re.findall(r"[a-z]+", text.lower()) if len(w) >= 4)
        return self._template_words

    def _plan_text(
        self, request: str, session: Session, allowed_roots: tuple[Path, ...], max_steps: int, t0: float
    ) -> PlanOutcome | None:
        tokens = tokenize(_with_heard_suffixes(request, session))
        files = _classify_files(tokens, session, allowed_roots)
        if files is None:
            return None  # a file the workspace does not have: the LLM (and its clear error) deal with it
        intents = self._compiled()
        project = _project_tracks(session)
        newest = None if project is not None else _newest_audio(session)
        readings: dict[str, dict] = {}
        context = _Context(tokens, files, project or [], newest, None, _asked(session))
        for step in self._match(tokens.text, intents, context):
            _add(readings, [step] if "tool" in step else step)
        if max_steps >= 2:
            for m in _JOINS.finditer(tokens.text):
                first, second = tokens.text[: m.start()], tokens.text[m.end() :]
                for step1 in self._match(first, intents, context):
                    if "tool" not in step1:
                        continue
                    after = _Context(tokens, files, project or [], None, step1["tool"])
                    for step2 in self._match(second, intents, after):
                        if "tool" in step2:
                            _add(readings, _chain(step1, step2))
        if len(readings) != 1:
            return None
        (plan,) = readings.values()
        raw = json.dumps(plan, separators=(",", ":"))
        try:
            validated = parse_plan(raw, self.registry, session, allowed_roots, max_steps)
            check_speak(validated, request)
        except EarshotError:
            return None
        ms = (time.perf_counter() - t0) * 1000
        return PlanOutcome(validated, [Attempt(raw, None, ms, 0, 0, 0)], planner="fast")

    def _match(self, text: str, intents, context: _Context) -> list[dict]:
        """Every reading of `text` as one step ({"tool", "args"}) or an answer ({"say", "steps"})."""
        from hassil import recognize_all

        if not text.strip():
            return []
        out = []
        for result in recognize_all(text, intents, slot_lists={**intents.slot_lists, **_lists(context)}):
            kind, command = self._targets[result.intent.name]
            if kind == "chat":
                key = result.intent.name.split("#", 1)[1]
                if context.after is None and not (key in ANSWERS_TO_A_QUESTION and context.asked):
                    out.append({"say": chat.answer(key, self.registry), "steps": []})
                continue
            step = _bind(command, result, context, self.registry)
            if step is not None:
                out.append(step)
        return out


# Chat that can be the answer to the last reply's question ("Shall I …?" — "okay"): the LLM's then.
ANSWERS_TO_A_QUESTION = frozenset({"ack"})


def _asked(session: Session) -> bool:
    """Did the last finished turn's reply end with a question?"""
    last = session.recent_turns(1)
    return bool(last) and (last[0]["reply_text"] or "").rstrip().endswith("?")


class _Context:
    def __init__(
        self,
        tokens: Tokens,
        files: dict,
        tracks: list[str],
        newest: str | None,
        after: str | None,
        asked: bool = False,
    ):
        self.tokens = tokens
        self.files = files  # placeholder → (kind, reference)
        self.tracks = tracks
        self.newest = newest  # the newest audio artifact ("it"), None when "it" could be the song
        self.after = after  # the tool of the step before this one (a chain's second step)
        self.asked = asked  # the last reply asked the user a question


@functools.lru_cache(maxsize=4096)
def _value(template: str, value):
    """One slot value, parsed once (hassil normalises and parses each value it is given)."""
    from hassil.intents import TextSlotValue

    return TextSlotValue.from_tuple((template, value))


@functools.lru_cache(maxsize=64)
def _slot(name: str, pairs: tuple) -> object:
    from hassil import TextSlotList

    return TextSlotList(name=name, values=[_value(t, v) for t, v in pairs])


def _lists(ctx: _Context) -> dict:
    def slot(name: str, pairs) -> object:
        return _slot(name, tuple(pairs))

    by_kind: dict[str, list] = {"file": [], "image": [], "project_file": []}
    for placeholder, (kind, ref) in ctx.files.items():
        if kind in by_kind:
            by_kind[kind].append((placeholder, ref))
    if ctx.after in phrases.AUDIO_OUT:
        by_kind["file"].append((PRONOUNS, "$1"))
    elif ctx.after is None and ctx.newest is not None:
        by_kind["file"].append((PRONOUNS, ctx.newest))
    tokens = ctx.tokens
    tracks = sorted({*vocabulary.TRACK_WORDS, *ctx.tracks})
    return {
        **{kind: slot(kind, pairs) for kind, pairs in by_kind.items()},
        "number": slot("number", tokens.numbers.items()),
        "notes": slot("notes", tokens.notes.items()),
        "sig": slot("sig", tokens.signatures.items()),
        "track": slot("track", [(t, t) for t in tracks]),
        "text_ref": slot("text_ref", [(TEXT_PRONOUNS, "$1")] if ctx.after in phrases.TEXT_OUT else []),
    }


def _bind(command: phrases.Command, result, ctx: _Context, registry) -> dict | None:
    """The step a template match means, or None when a slot holds what it must not."""
    tokens = ctx.tokens
    args: dict = {}
    lists: dict[str, dict[int, object]] = {}
    named: dict[str, object] = {}
    for name, entity in result.entities.items():
        value = entity.value
        if getattr(entity, "is_wildcard", False):
            value = _wild(name, tokens, entity.text or str(value))
            if value is None:
                return None
        base, _, conversion = name.partition("__")
        if conversion == "neg":
            value = -value
        elif conversion == "k":
            value = value * 1000
        elif conversion == "min":
            value = value * 60
        elif conversion == "num":
            value = f"{base} {int(value)}"
        elif conversion.isdigit():
            lists.setdefault(base, {})[int(conversion)] = value
            continue
        if base == "clip_words":
            args["clip"] = f"the {value} clip"
        elif base.startswith("_"):
            named[base] = value
        else:
            args[base] = value
    for base, items in lists.items():
        args[base] = [items[k] for k in sorted(items)]
    for key, value in command.args.items():
        if isinstance(value, str) and "{" in value:
            try:
                value = value.format(**{k: _text(v) for k, v in named.items()})
            except (KeyError, IndexError):
                return None
        args.setdefault(key, value)
    tool = registry.get(command.tool)
    if ctx.after is not None:  # "… then find where someone speaks": the first step's output
        for f in fields(tool.args_type):
            if f.name in args or f.default is not MISSING or f.default_factory is not MISSING:  # type: ignore[misc]
                continue
            hint = typing.get_type_hints(tool.args_type)[f.name]
            if hint is Artifact and ctx.after in phrases.AUDIO_OUT:
                args[f.name] = "$1"
            elif hint is str and ctx.after in phrases.TEXT_OUT:
                args[f.name] = "$1"
    return {"tool": command.tool, "args": {k: _plain(v) for k, v in args.items()}}


def _wild(name: str, tokens: Tokens, text: str) -> str | None:
    """What a wildcard captured, as typed (placeholders restored, quotes dropped), or None if it holds
    what that argument must not: a file or number inside a piece's description, a pronoun as a text."""
    raw = _POLITE.sub("", text.strip().strip(_QUOTES + " ,.:;!?")).strip(_QUOTES + " ,.:;!?")
    value = tokens.restore(raw).strip(_QUOTES + " ").strip()
    if not value:
        return None
    if name == "text":
        return None if _PRONOUN_TEXT.match(value) else value
    if name in ("description", "name") and _DANGLING.search(value):
        return None  # "a happy tune at" (+ "120 bpm"): the words after it belong to another slot
    if name == "description":
        if tokens.has_placeholder(raw) or not _MUSIC.search(value) or _NOT_DESCRIPTION.search(value):
            return None
        if re.match(r"(the|it|this|that|my|our|its|them)\b", value, re.IGNORECASE):  # "make the song calmer"
            return None
        return value
    if name in ("name", "track"):
        return None if tokens.has_placeholder(raw) or len(value.split()) > 4 else value
    if name == "lyrics":
        return None if tokens.has_placeholder(raw) else value
    if name in ("words", "folder"):  # "the weather" → weather: the words a transcript or folder name holds
        value = re.sub(r"^(the|a|an|my|our)\s+", "", value, flags=re.IGNORECASE)
        return None if tokens.has_placeholder(raw) or not value or len(value.split()) > 4 else value
    if name == "clip_words":
        words = value.lower().split()
        allowed = CLIP_WORDS | {w for t in vocabulary.TRACK_WORDS for w in t.split()}
        return value.lower() if words and all(w in allowed for w in words) else None
    return value


def _text(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _plain(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _chain(step1: dict, step2: dict) -> list[dict] | None:
    """Two steps; two effect steps on one file are one chain ("compress it and add a limiter")."""
    if step1["tool"] == step2["tool"] == "effects" and step2["args"].get("file") == "$1":
        merged = {**step1["args"], "chain": f"{step1['args']['chain']}, {step2['args']['chain']}"}
        return [{"tool": "effects", "args": merged}]
    return [step1, step2]


def _add(readings: dict[str, dict], reading) -> None:
    if reading is None:
        return
    plan = reading if isinstance(reading, dict) else {"say": None, "steps": reading}
    readings[json.dumps(plan, sort_keys=True)] = {"say": plan["say"], "steps": plan["steps"]}


def _classify_files(tokens: Tokens, session: Session, allowed_roots) -> dict | None:
    """placeholder → (kind, reference) for every file the request names; None if one does not exist."""
    out = {}
    for placeholder, ref in tokens.files.items():
        try:
            if ref.startswith("@"):
                art = session.last_artifact() if ref == "@last" else session.artifact(int(ref[2:]))
                if art is None:
                    return None
                suffix = art.path.suffix.lower()
                kind = "file" if art.kind in ("audio", "input") else _kind(suffix)
            else:
                ref = _with_the_files_case(ref, session)
                path = session.resolve_user_path(ref, tuple(allowed_roots))
                if not path.is_file():
                    return None
                kind = _kind(path.suffix.lower())
        except (EarshotError, ValueError):
            return None
        out[placeholder] = (kind, ref)
    return out


def _with_the_files_case(ref: str, session: Session) -> str:
    """`ref` with the case of the one workspace file whose name differs from it only in case: speech
    recognition writes "Describe Memo.wav." for memo.wav. A name that exists as written, or two such
    files (memo.wav, MEMO.wav: two readings), leave it as it was (then resolved, or refused, as typed)."""
    path = Path(ref).expanduser()
    if path.is_absolute() or (session.workspace / path).exists():
        return ref
    found = _the_one_file(session.workspace / path.parent, lambda p: p.name.lower() == path.name.lower())
    return str(path.with_name(found)) if found else ref


def _the_one_file(folder: Path, matches) -> str | None:
    """The name of the one file in `folder` that `matches` (a Path → bool), or None: none, two, unreadable."""
    try:
        found = [p.name for p in folder.iterdir() if matches(p) and p.is_file()]
    except OSError:
        return None
    return found[0] if len(found) == 1 else None


_DOTTED = re.compile(r"(?<![\w/@.-])([\w-]+)\.([A-Za-z]{2,7})(?![\w-])")


def _with_heard_suffixes(request: str, session: Session) -> str:
    """`request` with a misheard file suffix mended: speech recognition wrote "loop.wev" for loop.wav, and
    "Loop.Weaven" for "loop.wav in" (the suffix and the next word run together). Only when the suffix is no
    file type, and one workspace file has the same name with a suffix a letter away (or, run together with
    "in", that suffix or one a letter from it); anything else is left as it was (then the LLM, and its clear
    error, deal with it)."""

    def mend(m: re.Match) -> str:
        stem, heard = m.group(1), m.group(2).lower()
        if re.fullmatch(FILE_SUFFIXES, heard, re.IGNORECASE):
            return m.group(0)
        found = _the_one_file(
            session.workspace,
            lambda p: p.stem.lower() == stem.lower() and _one_letter_apart(p.suffix[1:].lower(), heard),
        )
        if found:
            return found
        fused = re.fullmatch(r"([a-z]{2,5}?)[ei]n", heard)
        if fused:
            suffix = fused.group(1)
            found = _the_one_file(
                session.workspace,
                lambda p: (
                    p.stem.lower() == stem.lower()
                    and (p.suffix[1:].lower() == suffix or _one_letter_apart(p.suffix[1:].lower(), suffix))
                ),
            )
            if found:
                return f"{found} in"
        return m.group(0)

    return _DOTTED.sub(mend, request)


def _first_word_mended(request: str, words: frozenset[str]) -> list[str]:
    """`request` with its first word replaced by each template word one letter (a substitution) from it;
    none when the first word is itself a template word, or shorter than four letters."""
    m = re.match(r"\s*([A-Za-z]+)\b", request)
    if m is None:
        return []
    heard = m.group(1).lower()
    if len(heard) < 4 or heard in words:
        return []
    return [
        request[: m.start(1)] + w + request[m.end(1) :]
        for w in sorted(words)
        if len(w) == len(heard) and sum(x != y for x, y in zip(w, heard)) == 1
    ]


def _one_letter_apart(a: str, b: str) -> bool:
    """One substitution, insertion or deletion turns a into b (not zero: then it was a file type)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _kind(suffix: str) -> str:
    if suffix in AUDIO_SUFFIXES:
        return "file"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in PROJECT_SUFFIXES:
        return "project_file"
    return "other"


def _newest_audio(session: Session) -> str | None:
    for art in reversed(session.artifacts()):
        if art.kind in ("audio", "input"):
            return art.ref
    return None


def _project_tracks(session: Session) -> list[str] | None:
    """The project's track names (lower case), or None when the session has no project yet."""
    from ...project.store import Project

    project = Project(session)
    if not project.exists:
        return None
    return [t["name"].lower() for t in project.state()["tracks"].values() if t.get("name")]


def _keys() -> list[tuple[str, str]]:
    out = []
    for note in "ABCDEFG":
        for accidental, spoken in (("", ""), ("#", " sharp"), ("b", " flat")):
            name = note + accidental
            said = f"{note}{spoken}"
            out += [(f"{said} (major|maj)", f"{name} major"), (f"{said} (minor|min)", f"{name} minor")]
            out.append((said, name))
            if accidental == "#":
                out.append((f"{note}#", name))
    return out
