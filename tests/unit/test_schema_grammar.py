"""Registry → JSON schema → GBNF: every registered tool is expressible, and a construct the converter
cannot express fails at start-up (SchemaNotExpressible) instead of silently loosening the grammar."""

from dataclasses import dataclass, field

import pytest

from assistant.audio_models.registry import default_registry
from assistant.llm.schema import SchemaNotExpressible, args_schema, plan_schema, schema_to_gbnf


def test_every_registered_tool_compiles_to_a_grammar_rule():
    registry = default_registry()
    gbnf = schema_to_gbnf(plan_schema(registry, max_steps=4, max_say_chars=400))
    assert gbnf.startswith("root ::=")
    for tool in registry:
        assert f'"\\"{tool.name}\\""' in gbnf


def test_every_string_and_array_is_bounded():
    """Unbounded strings let generation run away; the converter must have refused them."""

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node:
                assert "maxLength" in node, node
            if node.get("type") == "array":
                assert "maxItems" in node, node
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(plan_schema(default_registry(), 4, 400))


@pytest.mark.parametrize(
    "schema,match",
    [
        ({"type": "string"}, "maxLength"),
        ({"type": "object", "properties": {}}, "additionalProperties"),
        ({"type": "array", "items": {"type": "boolean"}}, "maxItems"),
        ({"type": "integer", "minimum": 0}, "both a minimum and a maximum"),
        ({"type": "string", "pattern": "^a+$", "maxLength": 3}, "pattern"),
        ({"oneOf": [{"type": "null"}]}, "oneOf"),
    ],
)
def test_unsupported_constructs_fail_loudly(schema, match):
    with pytest.raises(SchemaNotExpressible, match=match):
        schema_to_gbnf(schema)


def test_an_args_type_the_grammar_cannot_express_is_refused():
    @dataclass
    class Bad:
        choice: int | str = field(default=1)

    with pytest.raises(SchemaNotExpressible, match="union"):
        args_schema(Bad)


def _gbnf_as_regex(body: str) -> str:
    """A rule body of literals, classes, groups and repeats as the same Python regular expression."""
    import json
    import re

    from assistant.llm.grammar_bound import _tokens

    out = []
    for kind, text in _tokens(body):
        assert kind != "name", f"a notation grammar must be self-contained, not name rule {text}"
        out.append(f"(?:{re.escape(json.loads(text))})" if kind == "lit" else text)
    return "".join(out)


def test_sings_notes_are_a_grammar_of_their_own_within_max_length():
    """The planner cannot write lyrics where sing's notes go ("Twinkle twinkle little star" was
    written there, twice); every score the grammar allows parses, and the longest fits max_length."""
    import re

    from assistant.audio_models import sing
    from assistant.llm.grammar_bound import max_output_chars

    schema = args_schema(sing.Args)["properties"]["notes"]
    gbnf = schema_to_gbnf(schema)
    assert "char" not in gbnf.split("\n")[0]  # the notation, not free text
    notes = re.compile(_gbnf_as_regex(sing.NOTES_GRAMMAR))
    for score in ("C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2", "F#3:0.5 Bb4:1.5 r:1 E5:8", " ".join(["D4:0.25"] * 48)):
        assert notes.fullmatch(score), score
        assert sing.parse_notes(score)
    for wrong in ("Twinkle twinkle little star", "C4 D4 E4", "C4:1,D4:1", "H4:1", "C9:1", " ".join(["C4:1"] * 49)):
        assert not notes.fullmatch(wrong), wrong
    assert max_output_chars(gbnf) <= schema["maxLength"] + 2  # + the quotes
