"""The TUI driven headless by Textual's Pilot, on the real pipeline with the small test model.

SmolLM2-135M plans "describe tone.wav" as the `describe` tool (which writes a measurements file);
the assertions are on the machinery — a user turn, a tool card that finished, a reply, the new
artifact in the file list, the store's record of the turn — not on the wording of the reply.
"""

from __future__ import annotations

import pytest

from assistant.ui.app import EarshotApp
from assistant.ui.widgets.artifacts import ArtifactsPane
from assistant.ui.widgets.conversation import AssistantReply, ToolCard, UserTurn
from tests.conftest import require_models
from tests.ui.conftest import TEST_LLM, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def make_app(config, session, **kw) -> EarshotApp:
    return EarshotApp(config, session, llm_name=TEST_LLM, speak=False, **kw)


async def type_request(pilot, text: str) -> None:
    await pilot.click("#prompt")
    for ch in text:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")


async def test_typed_request_shows_tool_card_reply_and_artifact(config, workspace_with_tone):
    require_models(TEST_LLM)
    session = workspace_with_tone
    app = make_app(config, session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.models_ready, 600)
        await type_request(pilot, "describe tone.wav")
        await wait_for(pilot, lambda: app.query(UserTurn), 30)
        assert app.query_one(UserTurn).text == "describe tone.wav"
        await wait_for(pilot, lambda: not app.busy, 900)
        await pilot.pause(0.3)

        turn = session.turns()[-1]
        assert turn["status"] == "ok", dict(turn)
        runs = session.tool_runs(turn["id"])
        assert runs, "the plan ran no tool"
        cards = app.query(ToolCard)
        assert [c.tool for c in cards] == [r["tool"] for r in runs]
        assert all(c.status == "ok" for c in cards)
        reply = app.query_one(AssistantReply)
        assert reply.text == turn["reply_text"] and reply.text
        listed = {a.id for a in app.query_one(ArtifactsPane).artifacts}
        produced = {a.id for a in session.artifacts() if a.tool}
        assert produced and produced <= listed
        # tone.wav itself was registered as the turn's input and is listed too
        assert any(a.name == "tone.wav" for a in app.query_one(ArtifactsPane).artifacts)


# A request the command path leaves to the LLM ("describe tone.wav" never reaches the planner's gate).
LLM_REQUEST = "is tone.wav any good for a ringtone?"


@pytest.fixture
def planning_gate(monkeypatch):
    """Hold every planner call (the real one, on the real model) until the test releases it.

    Without it the race is the machine's: on a quiet CPU SmolLM2 plans and runs "describe" before
    the key press arrives, and the turn ends "ok". With it the turn is certainly in flight."""
    import threading

    from assistant.llm.planner import Planner

    entered, release = threading.Event(), threading.Event()
    real_plan = Planner.plan

    def gated(self, *args, **kwargs):
        entered.set()
        release.wait(600)
        return real_plan(self, *args, **kwargs)

    monkeypatch.setattr(Planner, "plan", gated)
    yield entered, release
    release.set()


async def test_escape_interrupts_the_running_turn(config, workspace_with_tone, planning_gate):
    require_models(TEST_LLM)
    entered, release = planning_gate
    session = workspace_with_tone
    app = make_app(config, session, autoload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_request(pilot, LLM_REQUEST)
        await wait_for(pilot, lambda: app.query(AssistantReply), 30)
        await wait_for(pilot, entered.is_set, 900)  # the model is loaded and the planner called
        await pilot.press("escape")
        release.set()
        await wait_for(pilot, lambda: not app.busy, 900)
        await pilot.pause(0.2)
        turn = session.turns()[-1]
        assert turn["status"] == "interrupted"
        assert app.query_one(AssistantReply).state == "interrupted"
        # the app is usable again: the next request is accepted
        assert not app.busy


async def test_quitting_mid_turn_keeps_the_turn_in_the_store(config, workspace_with_tone, planning_gate):
    require_models(TEST_LLM)
    entered, release = planning_gate
    session = workspace_with_tone
    app = make_app(config, session, autoload=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await type_request(pilot, LLM_REQUEST)
        await wait_for(pilot, lambda: app.query(AssistantReply), 30)
        await wait_for(pilot, entered.is_set, 900)
        await pilot.press("ctrl+q")
        release.set()
        await wait_for(pilot, lambda: not app.is_running, 60)
    turns = session.turns()
    assert [t["user_text"] for t in turns] == [LLM_REQUEST]
    assert turns[0]["status"] == "interrupted"  # recorded, not left "running"
