"""The command path in front of the LLM: the commonest phrasings of every tool and project edit,
parsed straight into a validated plan in milliseconds (Home Assistant's "prefer handling commands
locally", Rhasspy's template recogniser, OVOS's parsers before its LLM persona).

    path.py        CommandPath.plan(request, session) → PlanOutcome (planner "fast") or None (→ the LLM)
    phrases.py     the verb phrasings of each tool: hassil templates with the tool's fixed arguments
    vocabulary.py  slot lists generated from the registry (every Literal argument, languages, effects)
    tokens.py      files, numbers, notes and time signatures as placeholder words before matching
    chat.py        template answers for thanks, greetings, "what can you do" (from the registry)

Matching is Home Assistant's `hassil` (Apache-2.0): its template syntax (alternatives, optional
words, lists, wildcards, expansion rules) and a whole-utterance matcher that yields every reading, so
a leftover word means no match and two readings can be told apart and declined. Its number ranges
are not used (integers or tenths only; number words over 0–36,000 s took 20 s to build): numbers are
placeholders (tokens.py). A request the path declines goes to the LLM exactly as before.
"""

from __future__ import annotations

from .path import CommandPath

__all__ = ["CommandPath", "command_path"]

_PATHS: dict[int, tuple[object, CommandPath]] = {}


def command_path(registry) -> CommandPath:
    """The one CommandPath of a registry (its templates are compiled once, on first use)."""
    held = _PATHS.get(id(registry))
    if held is None or held[0] is not registry:
        held = (registry, CommandPath(registry))
        _PATHS[id(registry)] = held
    return held[1]
