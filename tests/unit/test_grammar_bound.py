"""The longest output of a plan grammar bounds the tokens a plan may need, so no plan is cut mid-JSON."""

import json
import re

import pytest

from assistant.audio_models.registry import default_registry
from assistant.llm.grammar_bound import UnboundedGrammar, max_output_chars
from assistant.llm.numeric_grammar import decimal_range, integer_range, to_regex
from assistant.llm.schema import plan_schema, schema_to_gbnf


@pytest.mark.parametrize(
    "gbnf,width",
    [
        ('root ::= "ab" [x-z] "c"?', 4),
        ('root ::= "a" | "bcd" | ("e" "f")', 3),
        ('root ::= x{2,5} "\\"" \nx ::= [0-9] ("." [0-9]{1,3})?', 26),
        ('root ::= "\\\\" "\\x41"', 2),
        ('root ::= ("ab" | "c"){0,3} ws\nws ::= [ ]?', 7),
    ],
)
def test_widths_of_small_grammars(gbnf, width):
    assert max_output_chars(gbnf) == width


@pytest.mark.parametrize("gbnf", ['root ::= "a"*', 'root ::= "a" root | "b"', 'root ::= [0-9]{1,}'])
def test_unbounded_grammars_are_refused(gbnf):
    with pytest.raises(UnboundedGrammar):
        max_output_chars(gbnf)


@pytest.mark.parametrize(
    "lo,hi,integer",
    [(0, 100, True), (-60, 24, True), (1, 7, True), (-24.0, 24.0, False), (0.1, 0.9, False), (20.0, 20000.0, False)],
)
def test_numeric_ranges_never_exceed_their_bound(lo, hi, integer):
    expr = integer_range(lo, hi) if integer else decimal_range(lo, hi)
    width = max_output_chars(f"root ::= {expr}")
    pattern = re.compile(to_regex(expr))
    # the longest numbers of the range are written with the most digits (and all fraction digits)
    longest = max(len(f"{v:.3f}") if not integer else len(str(v)) for v in (lo, hi))
    assert width >= longest
    assert pattern.fullmatch(f"{lo:.3f}" if not integer else str(lo))
    assert not pattern.fullmatch("9" * (width + 1))


def test_a_maximal_plan_fits_the_bound():
    """Build the longest plan a tool allows by hand (every string at its maxLength, every step the
    longest tool) and check it is within the computed bound."""
    registry = default_registry()
    schema = plan_schema(registry, max_steps=4, max_say_chars=400)
    bound = max_output_chars(schema_to_gbnf(schema))

    def longest(node):
        if "anyOf" in node:
            return max((longest(n) for n in node["anyOf"]), key=lambda v: len(json.dumps(v)))
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return max(node["enum"], key=len)
        kind = node.get("type")
        if kind == "object":
            return {k: longest(v) for k, v in node["properties"].items()}
        if kind == "array":
            return [longest(node["items"])] * node["maxItems"] if node["maxItems"] else []
        if kind == "string":
            return "x" * node["maxLength"]
        if kind in ("integer", "number"):
            return -999999999 if "minimum" not in node else node["minimum"]
        return True if kind == "boolean" else None

    plan = longest(schema)
    assert len(json.dumps(plan, separators=(",", ":"))) <= bound
