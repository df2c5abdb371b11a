"""Who gets the CPU first on a small machine: the speech path before background language-model work.

On two cores, llama.cpp's threads (decoding a speculative plan, evaluating the context between
turns or the words of a partial transcript) and the voice loop's ASR ran at the same time and each
slowed the other. The ASR of a pause decides when the turn ends (the endpoint waits for its
transcript to look finished), so it took ~0.9 s instead of ~0.1 s and the endpoint fell back to its
800 ms maximum (`earshot bench latency`). While any `foreground()` block runs, LLM work pauses
between tokens and between chunks of evaluated prompt (llm/greedy.py), and goes on after it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ForegroundGate:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holders = 0

    @contextmanager
    def foreground(self) -> Iterator[None]:
        """Run the block with the CPU to itself (background LLM work waits)."""
        with self._cond:
            self._holders += 1
        try:
            yield
        finally:
            with self._cond:
                self._holders -= 1
                if self._holders == 0:
                    self._cond.notify_all()

    def wait_turn(self, timeout_s: float = 2.0) -> None:
        """Background work calls this between steps: it blocks while foreground work runs (at most
        `timeout_s`, so a stuck holder can slow the planner but never stall it)."""
        if not self._holders:  # the common case, without taking the lock
            return
        with self._cond:
            self._cond.wait_for(lambda: self._holders == 0, timeout=timeout_s)

    @property
    def busy(self) -> bool:
        return self._holders > 0


GATE = ForegroundGate()


def in_foreground(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` with the CPU to itself (for asyncio.to_thread)."""
    with GATE.foreground():
        return fn(*args, **kwargs)
