"""The planner prompt's examples are valid plans, name real tools, and are not requests of the routing set
(so `earshot bench plan` measures requests the model has not been shown)."""

import json

import jsonschema
import pytest

from assistant.audio_models.registry import default_registry
from assistant.bench.plan_bench import load_labelled
from assistant.llm import prompts
from assistant.llm.schema import plan_schema, schema_to_gbnf, strip_extensions


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("?", "").replace("!", "").split())


def test_no_example_is_a_routing_request():
    routing = {_norm(item["request"]) for item in load_labelled()}
    shown = [req for req, _, _ in prompts.EXAMPLES if _norm(req) in routing]
    assert not shown, f"examples that leak into the routing set: {shown}"


@pytest.mark.parametrize("request_,plan,needs", prompts.EXAMPLES, ids=[e[0][:40] for e in prompts.EXAMPLES])
def test_every_example_is_a_schema_valid_plan(request_, plan, needs):
    registry = default_registry()
    schema = strip_extensions(plan_schema(registry, max_steps=4, max_say_chars=400))
    jsonschema.validate(json.loads(json.dumps({"say": plan["say"], "steps": plan["steps"]})), schema)
    assert {s["tool"] for s in plan["steps"]} == set(needs)


def test_groups_name_only_registered_tools_and_cover_all_of_them():
    registry = default_registry()
    grouped = [n for _, names in prompts.GROUPS for n in names]
    assert len(grouped) == len(set(grouped))
    assert set(grouped) <= set(registry.names())
    assert set(registry.names()) <= set(grouped)  # a new tool needs a heading (else it lands in "More tools")


def test_the_system_prompt_lists_every_tool_once():
    text = prompts.system_prompt(default_registry())
    for tool in default_registry():
        assert text.count(f"- {tool.name}(") == 1
    assert schema_to_gbnf(plan_schema(default_registry(), 4, 400))
