"""Language arguments take a code or a name; the plan keeps the code the ASR needs."""

import json

import pytest

from assistant.audio_models.registry import default_registry
from assistant.errors import PlanInvalid
from assistant.languages import language_code
from assistant.llm.plan import parse_plan


@pytest.mark.parametrize(
    "value,code",
    [
        ("es", "es"),
        ("Spanish", "es"),
        ("spanish", "es"),
        ("FR", "fr"),
        ("en-US", "en"),
        ("pt_BR", "pt"),
        ("Mandarin", "zh"),
        ("auto", "auto"),
        ("", "auto"),
        ("Portuguese", "pt"),
    ],
)
def test_language_code(value, code):
    assert language_code(value) == code


def test_unknown_language_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="ISO code"):
        language_code("klingon")


@pytest.fixture
def song(session):
    import numpy as np
    import soundfile as sf

    sf.write(session.workspace / "song.wav", np.zeros(1600, np.float32), 16000)
    return session


def test_the_plan_keeps_the_code(song):
    raw = json.dumps(
        {"say": None, "steps": [{"tool": "transcribe", "args": {"file": "song.wav", "language": "Spanish"}}]}
    )
    plan = parse_plan(raw, default_registry(), song)
    assert plan.steps[0].args["language"] == "es"


def test_a_made_up_language_gets_a_repair_message(song):
    raw = json.dumps(
        {"say": None, "steps": [{"tool": "transcribe", "args": {"file": "song.wav", "language": "elvish"}}]}
    )
    with pytest.raises(PlanInvalid, match="language"):
        parse_plan(raw, default_registry(), song)
