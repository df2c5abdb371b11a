"""The longest text a GBNF grammar of ours can produce, so a plan can never be cut off mid-JSON.

llama.cpp stops at `max_tokens` even when the grammar is not finished; a small model that loops
inside a long string ("Save it. Say hello. Save it. …") then leaves unterminated JSON. Every token
is at least one byte, and the plan grammar allows only printable ASCII inside strings (one byte a
character), so the grammar's longest output in characters bounds the tokens a plan can need. The
planner asks for exactly that many; a grammar whose bound does not fit the context is a start-up
error (see Planner), never a truncated plan.

Handles the subset of GBNF that schema.py and numeric_grammar.py emit: literals, character classes,
rule names, grouping, alternation, `?`, `{n}` and `{m,n}`. The grammar must not be recursive.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:[^"\\]|\\.)*")|(?P<cls>\[(?:[^\]\\]|\\.)*\])|(?P<name>[A-Za-z0-9-]+)'
    r'|(?P<rep>\{\d+(?:,\d*)?\})|(?P<op>[()|?*+]))'
)


class UnboundedGrammar(ValueError):
    """The grammar can produce text of any length (recursion, `*`, `+` or an open `{m,}`)."""


def _literal_length(lit: str) -> int:
    body, n, i = lit[1:-1], 0, 0
    while i < len(body):
        if body[i] == "\\":
            i += 4 if body[i + 1] == "x" else 2
        else:
            i += 1
        n += 1
    return n


def _tokens(body: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    body = body.strip()
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m or m.end() == pos:
            raise ValueError(f"cannot read the grammar at {body[pos : pos + 30]!r}")
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(body) and body[pos].isspace():
            pos += 1
    return out


class _Widths:
    def __init__(self, rules: dict[str, str]) -> None:
        self.rules = rules
        self.known: dict[str, int] = {}
        self.visiting: set[str] = set()

    def rule(self, name: str) -> int:
        if name in self.known:
            return self.known[name]
        if name in self.visiting:
            raise UnboundedGrammar(f"rule {name} is recursive")
        if name not in self.rules:
            raise ValueError(f"rule {name} is not defined")
        self.visiting.add(name)
        tokens = _tokens(self.rules[name])
        width, end = self._alternation(tokens, 0)
        if end != len(tokens):
            raise ValueError(f"rule {name}: unexpected {tokens[end][1]!r}")
        self.visiting.discard(name)
        self.known[name] = width
        return width

    def _alternation(self, tokens, i) -> tuple[int, int]:
        best, i = self._sequence(tokens, i)
        while i < len(tokens) and tokens[i] == ("op", "|"):
            width, i = self._sequence(tokens, i + 1)
            best = max(best, width)
        return best, i

    def _sequence(self, tokens, i) -> tuple[int, int]:
        total = 0
        while i < len(tokens) and tokens[i] not in (("op", "|"), ("op", ")")):
            kind, text = tokens[i]
            if kind == "lit":
                width, i = _literal_length(text), i + 1
            elif kind == "cls":
                width, i = 1, i + 1
            elif kind == "name":
                width, i = self.rule(text), i + 1
            elif (kind, text) == ("op", "("):
                width, i = self._alternation(tokens, i + 1)
                if i >= len(tokens) or tokens[i] != ("op", ")"):
                    raise ValueError("unbalanced parenthesis")
                i += 1
            else:
                raise ValueError(f"unexpected {text!r}")
            if i < len(tokens):
                kind, text = tokens[i]
                if (kind, text) == ("op", "?"):
                    i += 1
                elif kind == "rep":
                    counts = text[1:-1].split(",")
                    if len(counts) == 2 and counts[1] == "":
                        raise UnboundedGrammar(f"open repetition {text}")
                    width *= int(counts[-1])
                    i += 1
                elif kind == "op" and text in "*+":
                    raise UnboundedGrammar(f"unbounded repetition {text}")
            total += width
        return total, i


def max_output_chars(gbnf: str, root: str = "root") -> int:
    """The length in characters of the longest text the grammar accepts."""
    rules: dict[str, str] = {}
    for line in gbnf.splitlines():
        if "::=" in line:
            name, body = line.split("::=", 1)
            rules[name.strip()] = body
    return _Widths(rules).rule(root)
