"""The reply inside a plan, spoken while the plan is still being generated (the voice loop).

The plan's "say" string is decoded out of the growing JSON and handed out sentence by sentence, so
speech starts before the plan is closed (SayStream); a work plan's first step is handed out as soon as it
is complete, so the assistant can say what it is about to do (FirstStep).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable


class SayStream:
    """Incrementally decodes the JSON string value of "say" from a growing plan text, emitting
    whole sentences as soon as they end.

    The grammar makes a plan either `{"say": "…", "steps": []}` (an answer) or `{"say": null,
    "steps": [...]}` (work), and "say" comes first: once the plan opens with `{"say":"`, it is a
    spoken answer and its sentences can play while the rest is still being generated."""

    _HEAD = re.compile(r'^\{\s?"say"\s?:\s?"')

    def __init__(self, on_sentence: Callable[[str], None], first_clause_words: int = 0) -> None:
        self.on_sentence = on_sentence
        # The first chunk may end at a comma once it has this many words (0: sentences only), so
        # a long first sentence starts playing a clause earlier ("I can transcribe, …").
        self.first_clause_words = first_clause_words
        self.active: bool | None = None  # None: undecided; False: a tool plan, no streaming
        self._pos = 0
        self._buf = ""
        self.done = False
        self.emitted: list[str] = []

    def feed(self, text: str) -> None:
        if self.done or self.active is False:
            return
        if self.active is None:
            m = self._HEAD.match(text)
            if m:
                self.active = True
                self._pos = m.end()
            elif re.match(r'^\{\s?"say"\s?:\s?n', text):
                self.active = False  # "say": null — a plan with steps, spoken after they run
                return
            else:
                return
        # Plan strings hold no quotes or escapes (schema.py), so the string ends at the next quote.
        while self._pos < len(text) and not self.done:
            ch = text[self._pos]
            if ch == '"':
                self.done = True
                self._flush(final=True)
            else:
                self._buf += ch
                if ch in "!?" and len(self._buf.strip()) > 1:
                    # Nothing but more of the same can follow "!" or "?" inside a sentence: out at once,
                    # a token earlier than waiting for the space (a "." may be "3.5" or "@a1.wav").
                    self._flush(final=False)
                elif ch == " " and self._buf.rstrip()[-1:] == ".":
                    self._flush(final=False)
                elif (
                    ch == " "
                    and not self.emitted
                    and self.first_clause_words
                    and self._buf.rstrip()[-1:] in (",", ";", ":")
                    and len(self._buf.split()) >= self.first_clause_words
                ):
                    self._flush(final=False)
            self._pos += 1

    def _flush(self, final: bool) -> None:
        sentence = self._buf.strip()
        if sentence and (final or len(sentence) > 1):
            self.emitted.append(sentence)
            self.on_sentence(sentence)
        self._buf = ""


class FirstStep:
    """Finds the first step of a work plan in the growing JSON (`{"say":null,"steps":[{…}`) and hands it out,
    parsed, the moment its object closes: the voice loop says what it is about to do while the rest of the
    plan is still being decoded. Plan strings hold no quotes or escapes (schema.py), so a quote always
    opens or closes a string and braces inside strings are skipped exactly."""

    _START = re.compile(r'"steps"\s?:\s?\[\s?\{')

    def __init__(self, on_step: Callable[[dict], None]) -> None:
        self.on_step = on_step
        self.done = False
        self._start: int | None = None
        self._pos = 0
        self._depth = 0
        self._in_string = False

    def feed(self, text: str) -> None:
        if self.done:
            return
        if self._start is None:
            m = self._START.search(text)
            if m is None:
                return
            self._start = self._pos = m.end() - 1
        while self._pos < len(text):
            ch = text[self._pos]
            if ch == '"':
                self._in_string = not self._in_string
            elif not self._in_string and ch in "{}":
                self._depth += 1 if ch == "{" else -1
                if self._depth == 0:
                    self.done = True
                    try:
                        step = json.loads(text[self._start : self._pos + 1])
                    except ValueError:
                        return
                    if isinstance(step, dict) and isinstance(step.get("tool"), str):
                        self.on_step(step)
                    return
            self._pos += 1
