"""Planning for the voice loop: the same prompt, grammar and validation as planner.py, plus

- **prefill**: evaluate the per-turn context (artifact table, project, recent turns, "Request:")
  between turns, and the words of a partial transcript while the user is still speaking, so at
  the end of speech only the last few tokens of the request are left to evaluate;
- **cancellable, streamed planning**: `Planner.plan(cancel=…, on_say_sentence=…)` stops within one
  token when the user keeps talking, and hands out the sentences of a spoken answer while the plan
  is still being generated (greedy.py, say_stream.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ..runtime.greedy import GenerationCancelled
from .planner import Planner, PlanOutcome

__all__ = ["GenerationCancelled", "StreamingPlanner"]

_REQUEST_LABEL = "Request:"


class StreamingPlanner:
    """Wraps a loaded `Planner` (pipeline.Assistant keeps one; the LLM is shared and serialised)."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self.client = planner.llm

    def context_prefix(self, session) -> str:
        """The prompt up to and including "Request:": everything but the request's own words."""
        full = self.planner.render("\x01", session)
        cut = full.rfind(_REQUEST_LABEL + " \x01")
        return full[: cut + len(_REQUEST_LABEL)] if cut >= 0 else self.planner.prefix()

    def partial_prefix(self, partial_request: str, session) -> str:
        """The prompt up to the end of a partial request (no closing chat template)."""
        full = self.planner.render(partial_request.strip() + "\x01", session)
        return full[: full.index("\x01")]

    def prefill(self, text: str, cancel: threading.Event | None = None) -> int:
        """Evaluate `text` into the KV cache (skipped when the LLM is busy with a real turn)."""
        return self.client.prefill(text, cancel)

    def plan(
        self,
        request: str,
        session,
        allowed_roots: tuple[Path, ...] = (),
        *,
        cancel: threading.Event | None = None,
        on_say_sentence: Callable[[str], None] | None = None,
        first_clause_words: int = 0,
    ) -> PlanOutcome:
        """`Planner.plan`, streamed and cancellable. Raises GenerationCancelled when cancelled."""
        return self.planner.plan(
            request,
            session,
            allowed_roots,
            cancel=cancel,
            on_say_sentence=on_say_sentence,
            first_clause_words=first_clause_words,
        )
