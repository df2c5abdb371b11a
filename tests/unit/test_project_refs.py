"""Track and clip references resolve by name, number and description; ambiguity is an error that
names the candidates; the planner sees the project trimmed to its token budget."""

from __future__ import annotations

import pytest

from assistant.errors import EarshotError
from assistant.project import Project
from assistant.project.describe import describe, describe_within
from assistant.project.refs import resolve_clip, resolve_effect, resolve_track
from tests.project_ops import fake_source


@pytest.fixture
def song(session):
    p = Project(session)
    for name, kind in (("Drums", "audio"), ("Lead Vocal", "audio"), ("Backing vocals", "audio"), ("Keys", "midi")):
        p.apply("add_track", name=name, kind=kind)
    src = fake_source(1, 2.0)
    p.apply("place_clip", track_id="t1", start=0, unit="beats", source=dict(src, name="drum-loop.wav"))
    p.apply("place_clip", track_id="t2", start=8, unit="beats", source=dict(src, name="verse.wav"))
    p.apply("place_clip", track_id="t2", start=0, unit="beats", source=dict(src, name="intro.wav"))
    p.apply("place_clip", track_id="t3", start=4, unit="beats", source=dict(src, name="oohs.wav"))
    p.apply("place_clip", track_id="t4", start=0, unit="beats", notes=[[60, 0, 1, 90]], name="chords")
    p.apply("add_effect", owner="t2", kind="reverb")
    p.apply("add_effect", owner="t2", kind="delay")
    p.apply("add_effect", owner="t2", kind="reverb")
    return p


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("2", "t2"),
        ("track 3", "t3"),
        ("t4", "t4"),
        ("the drums", "t1"),
        ("Drums", "t1"),
        ("drum", "t1"),
        ("the lead vocal", "t2"),
        ("backing vocals", "t3"),
        ("the last track", "t4"),
        ("the second track", "t2"),
        ("the midi track", "t4"),
        ("keys", "t4"),
        ("the drum loop", "t1"),
        ("third", "t3"),
        ("track2", "t2"),
    ],
)
def test_track_references(song, ref, expected):
    assert resolve_track(song.state(), ref) == expected


def test_master_and_ambiguity(song):
    assert resolve_track(song.state(), "the whole mix", allow_master=True) == "master"
    with pytest.raises(EarshotError) as err:
        resolve_track(song.state(), "vocals")
    assert "Lead Vocal" in err.value.message and "Backing vocals" in err.value.message
    with pytest.raises(EarshotError) as err:
        resolve_track(song.state(), "the tuba")
    assert "1 Drums" in err.value.hint


@pytest.mark.parametrize(
    "ref, expected",
    [
        ("c7", "c7"),
        ("clip 5", "c5"),
        ("the first clip on the lead vocal", "c7"),
        ("the second clip on the lead vocal", "c6"),
        ("the second lead vocal clip", "c6"),
        ("the verse", "c6"),
        ("the last clip", "c6"),
        ("the drum loop", "c5"),
        ("oohs", "c8"),
        ("the chords", "c9"),
    ],
)
def test_clip_references(song, ref, expected):
    assert resolve_clip(song.state(), ref) == expected


def test_clip_pronoun_and_ambiguity(song):
    assert resolve_clip(song.state(), "it", recent="c8") == "c8"
    with pytest.raises(EarshotError) as err:
        resolve_clip(song.state(), "the lead vocal clip")
    assert "c6" in err.value.message and "c7" in err.value.message


def test_effect_references(song):
    s = song.state()
    assert resolve_effect(s, "t2", "", "delay") == "e11"
    assert resolve_effect(s, "t2", "2", "reverb") == "e12"
    with pytest.raises(EarshotError) as err:
        resolve_effect(s, "t2", "", "reverb")
    assert "e10" in err.value.hint and "e12" in err.value.hint


def test_description_fits_the_budget_and_loses_detail_gracefully(song):
    s = song.state()
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in tokenizer
    full = describe(s, 3)
    assert "c6 verse.wav at beat 8" in full and "reverb(room_size 0.5" in full
    for budget in (words(full), 40, 12, 3):
        text = describe_within(s, budget, words)
        assert words(text) <= budget or text == describe(s, 0)
    assert describe_within(s, 40, words).startswith("Project 'Untitled': 120 BPM")


def test_the_planner_sees_the_project(session, song):
    from assistant.audio_models.registry import default_registry
    from assistant.config import PlannerOptions
    from assistant.llm.planner import Planner
    from tests.unit.test_planner_repair import ScriptedLlm

    llm = ScriptedLlm(['{"steps":[{"tool":"track","args":{"op":"mute","track":"the drums"}}],"say":null}'])
    planner = Planner(llm, default_registry(), PlannerOptions(project_token_budget=60))
    outcome = planner.plan("mute the drums", session)
    assert outcome.plan is not None
    prompt = llm.prompts[0]
    turn = prompt[prompt.rindex("<user>") :]  # the per-turn message (the system prompt names the project too)
    assert "Studio project" in turn and "1. Drums (audio)" in turn
    part = turn[turn.index("Studio project") : turn.rindex("Request:")]
    assert len(part.split()) <= 60 + 12


def test_a_file_reference_where_a_track_was_meant(song):
    s = song.state()
    assert resolve_track(s, "@a1 drum-loop.wav", allow_master=True) == "master"  # every clip uses artifact 1
    s["clips"]["c8"]["source"]["artifact"] = 7
    assert resolve_track(s, "@a7") == "t3"
    assert resolve_track(s, "@last", allow_master=True) == "master"
    with pytest.raises(EarshotError, match="is a file"):
        resolve_track(s, "@a9")
