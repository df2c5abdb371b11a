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


@pytest.mark.parametrize("schema,match", [
    ({"type": "string"}, "maxLength"),
    ({"type": "object", "properties": {}}, "additionalProperties"),
    ({"type": "array", "items": {"type": "boolean"}}, "maxItems"),
    ({"type": "integer", "minimum": 0}, "both a minimum and a maximum"),
    ({"type": "string", "pattern": "^a+$", "maxLength": 3}, "pattern"),
    ({"oneOf": [{"type": "null"}]}, "oneOf"),
])
def test_unsupported_constructs_fail_loudly(schema, match):
    with pytest.raises(SchemaNotExpressible, match=match):
        schema_to_gbnf(schema)


def test_an_args_type_the_grammar_cannot_express_is_refused():
    @dataclass
    class Bad:
        choice: int | str = field(default=1)

    with pytest.raises(SchemaNotExpressible, match="union"):
        args_schema(Bad)
