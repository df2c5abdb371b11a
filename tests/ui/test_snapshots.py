"""Snapshot tests: the main screens at 80×24 and 120×40 (pytest-textual-snapshot).

Deterministic by construction: a fixed session id and workspace path, artifacts with fixed
metadata, no model loading, and a conversation fed with fixed pipeline events (a frozen clock for
the tool cards). Update with `pytest tests/ui/test_snapshots.py --snapshot-update` after a
deliberate change and look at the report.
"""

from __future__ import annotations

import pytest

from assistant.events import ArtifactInfo, PlanReady, Reply, ToolFinished, ToolProgress, ToolStarted, TurnStarted
from assistant.ui.app import EarshotApp
from assistant.ui.messages import PipelineEvent
from tests.ui.conftest import SNAPSHOT_ROOT, tone

SIZES = [(80, 24), (120, 40)]


def frozen_clock() -> float:
    return 100.0


def make_app(config, session) -> EarshotApp:
    return EarshotApp(config, session, llm_name="smollm2-135m", speak=False, autoload=False, clock=frozen_clock)


async def settle(pilot) -> None:
    pilot.app.main.query_one("#prompt").cursor_blink = False  # a blinking cursor is a coin flip
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()  # the waveform is read on a worker
    await pilot.pause()
    pilot.app.main.query_one("#conversation").scroll_end(animate=False)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def play_turn(pilot, session) -> None:
    """One finished turn and one still running, as the pipeline would emit them."""
    app = pilot.app
    await settle(pilot)  # the main screen has drawn and loaded the session before events arrive
    out = tone(SNAPSHOT_ROOT / "workspace" / "memo-denoised.wav", seconds=3.0)
    session.add_artifact(
        out, "audio", tool="denoise", parents=("a1",), duration_s=3.0, sample_rate_hz=48000, channels=1
    )
    a2 = ArtifactInfo("a2", str(out), "memo-denoised.wav", "audio", 3.0, 48000, 1)
    events = [
        TurnStarted(1, session.id, "remove the hiss from memo.wav", "typed"),
        PlanReady(({"tool": "denoise", "args": {"file": "memo.wav"}},), None, 1, 812.0, 27),
        ToolStarted(1, "denoise", {"file": "memo.wav"}),
        ToolProgress(1, "denoise", 0.5, "denoising 1.5 of 3.0 s"),
        ToolFinished(1, "denoise", "ok", 2.4, "Denoised memo.wav with DeepFilterNet3.", (a2,)),
        Reply("Done: the hiss is gone from memo.wav; the clean take is @a2 memo-denoised.wav.", (str(out),), 1),
    ]
    for event in events:
        app.post_message(PipelineEvent(event))
    await pilot.pause()
    app.busy = False
    app.refresh_artifacts(select_last=True)
    app.post_message(PipelineEvent(TurnStarted(2, session.id, "how loud is @a2", "spoken")))
    app.post_message(PipelineEvent(PlanReady(({"tool": "describe", "args": {"file": "@a2"}},), None, 1, 640.0, 22)))
    app.post_message(PipelineEvent(ToolStarted(1, "describe", {"file": "@a2"})))
    app.post_message(PipelineEvent(ToolProgress(1, "describe", 0.4, "measuring loudness")))
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_empty_session(snap_compare, config, snapshot_session, size):
    assert snap_compare(make_app(config, snapshot_session), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_turn_with_tool_cards(snap_compare, config, snapshot_session, size):
    async def run_before(pilot):
        await play_turn(pilot, snapshot_session)

    assert snap_compare(make_app(config, snapshot_session), terminal_size=size, run_before=run_before)


def test_turn_with_tool_cards_light_theme(snap_compare, config, snapshot_session):
    async def run_before(pilot):
        pilot.app.theme = "textual-light"
        await play_turn(pilot, snapshot_session)

    assert snap_compare(make_app(config, snapshot_session), terminal_size=(80, 24), run_before=run_before)


def test_help_screen(snap_compare, config, snapshot_session):
    async def run_before(pilot):
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(make_app(config, snapshot_session), terminal_size=(80, 24), run_before=run_before)
