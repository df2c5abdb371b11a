"""The planner's control flow, with a scripted stand-in for llama.cpp: one repair attempt carrying the
validation error, then a clear refusal. (Real-model planning is in tests/integration.)"""

from dataclasses import dataclass, field

import pytest

from assistant.audio_models.base import ToolSpec
from assistant.audio_models.registry import Registry, Tool
from assistant.config import LlmOptions, PlannerOptions
from assistant.errors import PathRefused
from assistant.llm.planner import Planner
from assistant.runtime.llm import Completion
from assistant.store.session import Artifact


@dataclass
class GainArgs:
    file: Artifact
    gain_db: float = field(default=0.0, metadata={"min": -60, "max": 24})


REGISTRY = Registry([Tool(ToolSpec("gain", "change the level"), GainArgs, run=None)])


class ScriptedLlm:
    options = LlmOptions()

    def __init__(self, replies):
        self.replies = list(replies)
        self.prompts = []
        self.openings = []

    def compile_grammar(self, gbnf):
        assert "root ::=" in gbnf
        return gbnf

    def render_chat(self, messages):
        return "\n".join(f"<{m['role']}>{m['content']}" for m in messages)

    def count_tokens(self, text):
        return len(text.split())

    def complete(self, prompt, grammar, max_tokens, sampling=None, *, cancel=None, on_text=None, opening=""):
        self.prompts.append(prompt)
        self.openings.append(opening)
        return Completion(self.replies.pop(0), 10, 5, 1.0, 0)


def planner(replies):
    return Planner(ScriptedLlm(replies), REGISTRY, PlannerOptions(repair_attempts=1))


def test_valid_plan_first_time(session):
    (session.workspace / "memo.wav").write_bytes(b"x")
    p = planner(['{"steps":[{"tool":"gain","args":{"file":"memo.wav","gain_db":3}}],"say":null}'])
    outcome = p.plan("louder", session)
    assert outcome.plan is not None and len(outcome.attempts) == 1
    assert outcome.plan.steps[0].args == {"file": "memo.wav", "gain_db": 3}


def test_unknown_file_gets_one_repair_with_the_error(session):
    (session.workspace / "memo.wav").write_bytes(b"x")
    p = planner(
        [
            '{"steps":[{"tool":"gain","args":{"file":"nothere.wav"}}],"say":null}',
            '{"steps":[{"tool":"gain","args":{"file":"memo.wav"}}],"say":null}',
        ]
    )
    outcome = p.plan("louder", session)
    assert len(outcome.attempts) == 2
    assert "nothere.wav" in outcome.attempts[0].error
    assert "nothere.wav" in p.llm.prompts[1] and "invalid" in p.llm.prompts[1]
    assert outcome.plan.steps[0].args["file"] == "memo.wav"


def test_still_invalid_after_repair_gives_no_plan(session):
    bad = '{"steps":[{"tool":"gain","args":{"file":"@a9"}}],"say":null}'
    outcome = planner([bad, bad]).plan("louder", session)
    assert outcome.plan is None and len(outcome.attempts) == 2
    assert "@a9" in outcome.attempts[-1].error


def test_out_of_range_value_is_invalid(session):
    (session.workspace / "memo.wav").write_bytes(b"x")
    bad = '{"steps":[{"tool":"gain","args":{"file":"memo.wav","gain_db":80}}],"say":null}'
    outcome = planner([bad, bad]).plan("much louder", session)
    assert outcome.plan is None and "between -60 and 24" in outcome.attempts[0].error


def test_path_escape_is_refused_without_repair(session):
    p = planner(['{"steps":[{"tool":"gain","args":{"file":"../../etc/passwd"}}],"say":null}'])
    with pytest.raises(PathRefused) as info:
        p.plan("louder", session)
    assert "outside the workspace" in info.value.message
    assert len(p.llm.prompts) == 1


def test_step_reference_must_point_backwards(session):
    (session.workspace / "memo.wav").write_bytes(b"x")
    bad = '{"steps":[{"tool":"gain","args":{"file":"$1"}}],"say":null}'
    outcome = planner([bad, bad]).plan("louder", session)
    assert outcome.plan is None and "earlier step" in outcome.attempts[0].error


def test_chat_plan_needs_something_to_say(session):
    outcome = planner(['{"steps":[],"say":null}', '{"steps":[],"say":"Hello!"}']).plan("hi", session)
    assert outcome.plan.say == "Hello!" and len(outcome.attempts) == 2


def test_history_is_trimmed_to_the_token_budget(session):
    for i in range(50):
        t = session.begin_turn(f"request number {i} " + "word " * 40)
        session.end_turn(t, "ok", reply="done " * 20)
    p = Planner(
        ScriptedLlm(['{"steps":[],"say":"ok"}']), REGISTRY, PlannerOptions(history_turns=50, history_token_budget=200)
    )
    p.plan("hello", session)
    turn_part = p.llm.prompts[0].split("<user>", 1)[1]
    assert len(turn_part.split()) <= 200 + 5
    assert "request number 49" in turn_part  # newest kept
    assert "request number 0 " not in turn_part  # oldest dropped


def test_the_history_window_moves_in_steps_so_the_prompt_stays_a_cached_prefix(session):
    """With 6 turns kept, turns 7, 8 and 9 all show history from turn 4 on: each prompt's history is the
    previous one's plus the newest turn (the KV cache keeps it), and only turn 10 moves the window."""
    p = Planner(ScriptedLlm(['{"steps":[],"say":"ok"}'] * 20), REGISTRY, PlannerOptions(history_turns=6))
    heads = {}
    for i in range(1, 11):
        t = session.begin_turn(f"request number {i}")
        session.end_turn(t, "ok", reply=f"reply {i}")
        if i >= 6:
            p.plan("hello", session)
            heads[i] = p.llm.prompts[-1].split("Request: hello")[0].rstrip()
            shown = [n for n in range(1, i + 1) if f"request number {n}\n" in heads[i]]
            assert shown == list(range(1 if i <= 6 else 4 if i <= 9 else 7, i + 1)), (i, shown)
    assert heads[8].startswith(heads[7]) and heads[9].startswith(heads[8])


def test_a_file_the_user_typed_is_never_repaired_into_another(session):
    """ "describe nothere.wav" must not end up describing some other file."""
    (session.workspace / "memo.wav").write_bytes(b"x")
    p = planner(
        [
            '{"steps":[{"tool":"gain","args":{"file":"nothere.wav"}}],"say":null}',
            '{"steps":[{"tool":"gain","args":{"file":"memo.wav"}}],"say":null}',
        ]
    )
    outcome = p.plan("make nothere.wav louder", session)
    assert outcome.plan is None and len(outcome.attempts) == 1
    assert "nothere.wav" in outcome.attempts[0].error


def test_a_file_reference_in_a_text_argument_gets_a_repair(session):
    from assistant.audio_models.registry import Registry, Tool

    @dataclass
    class SayArgs:
        text: str = field(metadata={"max_length": 100})

    registry = Registry([Tool(ToolSpec("say", "speak text"), SayArgs, run=None)])
    p = Planner(
        ScriptedLlm(
            ['{"steps":[{"tool":"say","args":{"text":"@last"}}],"say":null}', '{"steps":[],"say":"Which text?"}']
        ),
        registry,
        PlannerOptions(repair_attempts=1),
    )
    outcome = p.plan("read it back", session)
    assert "is text, not a file" in outcome.attempts[0].error and len(outcome.attempts) == 2


def test_a_request_for_a_saved_recording_opens_the_plan_as_work(session):
    """ "say … and save it" must be a speak step, not an answer: the plan is opened with "say": null."""

    @dataclass
    class SpeakArgs:
        text: str

    registry = Registry([*REGISTRY, Tool(ToolSpec("speak", "text to speech"), SpeakArgs, run=None)])
    p = Planner(ScriptedLlm(['{"say":"hi","steps":[]}'] * 2), registry, PlannerOptions())
    p.plan("say hello world and save it", session)
    p.plan("hello there!", session)
    assert p.llm.openings == ['{"say":null', '{"say']
