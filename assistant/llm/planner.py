"""Text → validated plan: one grammar-constrained llama.cpp call, one repair attempt on failure.

This is AudioGPT's "task analysis" and "model assignment" in a single local call. The grammar makes
malformed JSON, unknown tools and unknown argument names impossible; validation catches the rest
(a file that does not exist, a value out of range) and the model gets one chance to fix it with the
error in front of it. Still invalid: the user sees the error; nothing runs.
"""

from __future__ import annotations

import bisect
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..config import PlannerOptions
from ..errors import EarshotError, PlanInvalid, UnknownFile
from ..store.session import Session
from . import prompts
from .grammar_bound import max_output_chars
from .hints import asks_for_recording, hint_line, needs_steps
from .plan import AUDIO_SUFFIXES, Plan, parse_plan
from .say_stream import FirstStep, SayStream
from .schema import plan_schema, schema_to_gbnf

REQUEST_TOKENS = 200  # room kept for the request itself (a long dictated request is ~100 tokens)
# Both shapes of a plan open with this (schema.py puts "say" first; the model's own tokens for it are
# `{"` and `say`, and then `":"` for an answer or `":` for work): evaluated with the prompt instead of
# decoded one token at a time, it takes two sequential decoding steps (~0.2 s here) off every plan.
PLAN_OPENING = '{"say'
# The opening of a plan that does work: for requests whose words name work a spoken answer cannot do
# (hints.needs_steps: "say … and save it"), so the model chooses the step rather than talk about it.
PLAN_OPENING_WORK = '{"say":null'


@dataclass
class Attempt:
    raw: str
    error: str | None
    plan_ms: float
    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int


@dataclass
class PlanOutcome:
    plan: Plan | None
    attempts: list[Attempt] = field(default_factory=list)
    planner: str = "llm"  # "fast": the command path (llm/commands/) made it, no LLM call

    @property
    def plan_ms(self) -> float:
        return sum(a.plan_ms for a in self.attempts)

    @property
    def completion_tokens(self) -> int:
        return sum(a.completion_tokens for a in self.attempts)

    @property
    def prompt_tokens(self) -> int:
        return sum(a.prompt_tokens for a in self.attempts)

    @property
    def evaluated_prompt_tokens(self) -> int:
        """Prompt tokens the model had to evaluate (the rest were in its KV cache or restored from disk)."""
        return sum(a.prompt_tokens - a.cached_prompt_tokens for a in self.attempts)


class Planner:
    def __init__(self, llm, registry, options: PlannerOptions | None = None) -> None:
        self.llm = llm
        self.registry = registry
        self.options = options or PlannerOptions()
        self.schema = plan_schema(registry, self.options.max_steps, self.options.max_say_chars)
        self.gbnf = schema_to_gbnf(self.schema)
        # Compiled now: a grammar llama.cpp rejects is a start-up error, never a mid-turn surprise.
        self.grammar = llm.compile_grammar(self.gbnf)
        self.system = prompts.system_prompt(registry)
        # The longest plan the grammar allows, in tokens (one byte a character, a token at least a
        # byte, plus the end token): asking for this many means a plan can never be cut mid-JSON.
        self.max_plan_tokens = max_output_chars(self.gbnf) + 1
        # What must fit the context besides the plan: the tool list, the per-turn budget, the request.
        room = (
            llm.options.context_tokens
            - llm.count_tokens(self.prefix())
            - self.options.history_token_budget
            - REQUEST_TOKENS
        )
        if self.max_plan_tokens > room:
            raise EarshotError(
                f"the longest plan the grammar allows needs {self.max_plan_tokens} tokens, more than "
                f"the {room} the {llm.options.context_tokens}-token context leaves",
                "raise llm.context_tokens, or lower planner.max_steps or a tool's max_length",
            )

    def prefix(self) -> str:
        """The rendered chat text up to the start of the per-turn message (what the KV cache keeps)."""
        marker = "\x00TURN\x00"
        full = self.llm.render_chat([{"role": "system", "content": self.system}, {"role": "user", "content": marker}])
        return full[: full.index(marker)]

    def warm(self) -> str:
        return self.llm.warm_prefix(self.prefix())

    # -- context ----------------------------------------------------------------------------
    def _context(self, session: Session | None) -> tuple[list[str], list[str], list[prompts.PastTurn]]:
        """The files made before the turns shown, the workspace's other audio files, and the turns shown
        with the files each made (an artifact belongs to the last turn begun before it was made)."""
        if session is None:
            return [], [], []
        turns = self._recent_turns(session)
        starts = [float(t["started_at"]) for t in turns]
        before: list[str] = []
        made: list[list[str]] = [[] for _ in turns]
        known = set()  # left out of the workspace's other files
        for artifact in session.artifacts():
            index = bisect.bisect_right(starts, artifact.created_at) - 1
            if index < 0:
                before.append(artifact.describe())
            else:
                made[index].append(artifact.describe())
            # A user file a shown turn began to use stays in that list as well: it was there before the
            # turn, and the list must not change when a turn ends. A tool's output never was.
            if index < 0 or artifact.tool:
                known.add(artifact.path)
        files = sorted(
            p.name
            for p in session.workspace.iterdir()
            if p.is_file()
            and p.suffix.lower() in AUDIO_SUFFIXES
            and not p.name.startswith(".")
            and p.resolve() not in known
        )[:20]
        past = [prompts.PastTurn(t["user_text"], t["reply_text"] or "", tuple(m)) for t, m in zip(turns, made)]
        return before, files, past

    def _recent_turns(self, session: Session) -> list:
        """The last turns, in a window that moves in steps of half its size (keep 6: turns 1–6, then
        4–7 … 4–9, then 7–10 …). A window that slid by one turn every turn would change the prompt
        from its oldest turn on, so all of the history (hundreds of tokens, seconds on a small CPU)
        was evaluated again for every request; stepping keeps it a cached prefix for several turns,
        and the voice loop's between-turn prefill only has the newest turn left to evaluate."""
        keep = self.options.history_turns
        if keep <= 0:
            return []
        step = max(1, keep // 2)
        total = session.finished_turn_count()
        start = 0 if total <= keep else -(-(total - keep) // step) * step
        return session.recent_turns(total - start) if total > start else []

    def _project(self, session: Session | None) -> str | None:
        """The studio project's state, already trimmed to its own budget; None when there is none."""
        if session is None:
            return None
        from ..project.describe import planner_context

        return planner_context(session, self.options.project_token_budget, self.llm.count_tokens)

    def _trim(self, request: str, lines, files, turns, project: str | None = None) -> str:
        """Drop the oldest turns (their files join the list above the turns), then the workspace's other
        files, then the oldest files, until the per-turn part fits the budget."""
        hint = hint_line(request, set(self.registry.names())) if self.options.hints else None
        budget = self.options.history_token_budget + self.llm.count_tokens(request + (hint or ""))
        if project:
            budget += self.llm.count_tokens(project)
        while True:
            text = prompts.turn_prompt(request, lines, files, turns, project, hint)
            if self.llm.count_tokens(text) <= budget or not (turns or lines or files):
                return text
            if turns:
                lines, turns = [*lines, *turns[0].new_files], turns[1:]
            elif files:
                files = files[:-1]
            else:
                lines = lines[1:]

    def messages(self, request: str, session: Session | None) -> list[dict]:
        """The chat for one request: the stable system prefix, then the trimmed per-turn part."""
        lines, files, turns = self._context(session)
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self._trim(request, lines, files, turns, self._project(session))},
        ]

    def render(self, request: str, session: Session | None) -> str:
        """The exact prompt text of a request's first attempt (the voice loop prefills its start)."""
        return self.llm.render_chat(self.messages(request, session))

    # -- planning ---------------------------------------------------------------------------
    def plan(
        self,
        request: str,
        session: Session | None,
        allowed_roots: tuple[Path, ...] = (),
        *,
        cancel: threading.Event | None = None,
        on_say_sentence: Callable[[str], None] | None = None,
        first_clause_words: int = 0,
        on_first_step: Callable[[dict], None] | None = None,
    ) -> PlanOutcome:
        """Plan a request: one constrained generation, one repair attempt with the validation error.

        `cancel` stops generation within one token (GenerationCancelled propagates). `on_say_sentence`
        receives the sentences of a spoken answer ("say", plans without steps) while the first attempt
        is still being generated, and `on_first_step` a work plan's first step as soon as it is decoded;
        a repaired plan is not streamed."""
        outcome = PlanOutcome(plan=None)
        messages = self.messages(request, session)
        work = self.options.hints and needs_steps(request, set(self.registry.names()))
        opening = PLAN_OPENING_WORK if work else PLAN_OPENING
        for attempt in range(1 + self.options.repair_attempts):
            streams = []
            if attempt == 0:
                streams += [SayStream(on_say_sentence, first_clause_words)] if on_say_sentence else []
                streams += [FirstStep(on_first_step)] if on_first_step else []
            done = self.llm.complete(
                self.llm.render_chat(messages),
                self.grammar,
                max_tokens=self.max_plan_tokens,
                cancel=cancel,
                on_text=(lambda text, streams=streams: [st.feed(text) for st in streams]) if streams else None,
                opening=opening,
            )
            try:
                plan = parse_plan(done.text, self.registry, session, allowed_roots, self.options.max_steps)
                check_speak(plan, request)
                outcome.attempts.append(
                    Attempt(
                        done.text,
                        None,
                        done.elapsed_ms,
                        done.prompt_tokens,
                        done.completion_tokens,
                        done.cached_prompt_tokens,
                    )
                )
                outcome.plan = plan
                return outcome
            except PlanInvalid as exc:
                outcome.attempts.append(
                    Attempt(
                        done.text,
                        str(exc),
                        done.elapsed_ms,
                        done.prompt_tokens,
                        done.completion_tokens,
                        done.cached_prompt_tokens,
                    )
                )
                if isinstance(exc, UnknownFile) and _names_file(request, exc.name):
                    # The user typed that name: "repairing" it would run the tool on some other file.
                    return outcome
                messages += [
                    {"role": "assistant", "content": done.text},
                    {"role": "user", "content": prompts.repair_prompt(str(exc))},
                ]
        return outcome


def check_speak(plan: Plan, request: str) -> None:
    """`speak` writes a WAV file: a plan may use it only when the request asks for a saved recording
    (hints.asks_for_recording). A small model added one to "what's in the project?" to say the
    answer aloud; the answer is the reply, which is spoken anyway."""
    if any(s.tool == "speak" for s in plan.steps) and not asks_for_recording(request):
        raise PlanInvalid(
            "speak saves a recording, and the request asks for none",
            'leave the speak step out: the reply is spoken anyway (an answer goes in "say")',
        )


def _names_file(request: str, name: str) -> bool:
    """Did the user type this file name (case-insensitively, as a whole word)?"""
    name = name.strip()
    return bool(name) and re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", request, re.IGNORECASE) is not None


def given_plan(raw: str, registry, session: Session | None, allowed_roots=(), max_steps: int = 4) -> PlanOutcome:
    """A plan written elsewhere (`earshot ask --plan FILE`: a file `earshot plan --json` printed, or a bare
    `{"say": …, "steps": […]}`), validated exactly like the planner's own; an invalid one is an
    outcome without a plan, recorded and shown as a rejected attempt. No model is loaded."""
    import json

    try:
        data = json.loads(raw)
        if isinstance(data, dict) and data.get("type") == "plan":
            raw = json.dumps(data.get("plan"))
    except json.JSONDecodeError:
        pass  # parse_plan says what is wrong with it
    try:
        plan = parse_plan(raw, registry, session, allowed_roots, max_steps)
        return PlanOutcome(plan, [Attempt(raw, None, 0.0, 0, 0, 0)])
    except PlanInvalid as exc:
        return PlanOutcome(None, [Attempt(raw, str(exc), 0.0, 0, 0, 0)])


def load_planner(config, registry, model_name: str | None = None, models=None) -> Planner:
    """The planner on the configured (or named) GGUF from the store, with the grammar compiled."""
    from ..runtime.llm import get_llm

    llm = get_llm(config, model_name, models)
    return Planner(llm, registry, config.planner)
