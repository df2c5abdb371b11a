"""Prefill for the voice loop: the per-turn context (artifact table, project, recent turns, "Request:")
evaluated into the KV cache between turns, and the words of a partial transcript while the user is still
speaking, so at the end of speech only the last few tokens of the request are left to evaluate. A one-shot
`earshot ask` keeps the same context on disk for the next process (`keep`).

(Planning itself is `Planner.plan`: cancellable within one token, a spoken answer streamed out sentence by
sentence and a work plan's first step handed out as soon as it is decoded — runtime/greedy.py,
llm/say_stream.py.)
"""

from __future__ import annotations

import threading

from .planner import Planner

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

    def keep(self, session) -> int:
        """Evaluate the session's next context and save its state on disk (runtime/kv_states.py): the next
        one-shot process in this session then evaluates only its request. Returns the tokens evaluated."""
        return self.client.keep(self.context_prefix(session), session.id)
