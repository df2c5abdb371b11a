"""sing's notes are checked when the plan is validated: a slip goes back to the planner's repair."""

import json

import pytest

from assistant.audio_models.registry import default_registry
from assistant.errors import PlanInvalid
from assistant.llm.plan import parse_plan


def _plan(notes: str) -> str:
    return json.dumps({"say": None, "steps": [{"tool": "sing", "args": {"notes": notes, "lyrics": "twin-kle star"}}]})


def test_lyrics_written_as_notes_are_an_invalid_plan_that_says_how_to_write_notes():
    with pytest.raises(PlanInvalid, match=r"note 'twin-kle' has no length.*NAME\+OCTAVE:BEATS"):
        parse_plan(_plan("twin-kle twin-kle lit-tle star"), default_registry(), None)


def test_a_score_passes_validation_unchanged():
    plan = parse_plan(_plan("C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2"), default_registry(), None)
    assert plan.steps[0].args["notes"] == "C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2"
