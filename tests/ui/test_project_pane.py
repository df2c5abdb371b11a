"""The project pane (F5): tracks, clips on a timeline, each track's chain and the playhead.

* the layout logic on a known project (columns of clips and the playhead, chains wrapped, not cut);
* Pilot: the real pipeline, executor and project tools with a scripted planner (the planner's
  routing is tested elsewhere): the pane appears with the first project change, is redrawn after
  each turn, F5 hides and shows it, and playing the mix moves the playhead;
* snapshots at 80×24 and 120×40 (`--snapshot-update` after a deliberate change).
"""

from __future__ import annotations

import threading

import pytest

from assistant.config import LlmOptions
from assistant.events import PlanReady, Reply, ToolFinished, ToolStarted, TurnStarted
from assistant.project import Project
from assistant.project.store import peek
from assistant.runtime.llm import Completion
from assistant.ui.app import EarshotApp
from assistant.ui.messages import PipelineEvent, TurnDone
from assistant.ui.widgets.project import ProjectPane, ProjectView, project_lines
from tests.project_ops import fake_source
from tests.ui.conftest import tone, wait_for
from tests.ui.test_snapshots import make_app, settle


def song(session) -> Project:
    """Three tracks at 100 BPM over 8 bars: a looped drum clip, a pad from bar 3, a muted vocal."""
    p = Project(session)
    p.apply("rename_project", name="Rainy Song")
    p.apply("set_tempo", bpm=100.0)
    drums = p.apply("add_track", name="drums").ref
    p.apply("place_clip", track_id=drums, start=0, unit="beats", source=dict(fake_source(1, 2.4), name="kick.wav"))
    p.apply("loop_clip", clip_id="c2", length=32, unit="beats")
    pad = p.apply("add_track", name="pad").ref
    p.apply("place_clip", track_id=pad, start=8, unit="beats", source=dict(fake_source(2, 9.6), name="pad.wav"))
    vocal = p.apply("add_track", name="vocal").ref
    p.apply("place_clip", track_id=vocal, start=16, unit="beats", source=dict(fake_source(3, 4.8), name="take.wav"))
    p.apply("add_effect", owner=vocal, kind="highpass", params={"cutoff_hz": 120})
    p.apply("add_effect", owner=vocal, kind="reverb", params={"room_size": 0.8})
    p.apply("add_effect", owner=vocal, kind="compressor")
    p.apply("set_track", track_id=drums, gain_db=-4.5, pan=-0.25)
    p.apply("set_track", track_id=vocal, mute=True)
    return p


# -- layout logic -------------------------------------------------------------------------------
def test_clips_sit_in_their_columns_and_the_playhead_in_its_own(session):
    state = song(session).state()
    lines = project_lines(state, 120, playhead_s=3.0)
    text = [line.text for line in lines]
    assert all(len(t) <= 120 for t in text)
    assert text[0].startswith("Rainy Song · 100 BPM · 4/4 · 3 tracks · 0:19.2 · ▶ 0:03.0")
    # 8 bars of 2.4 s on 120 - 20 - 1 = 99 columns: second s is column int(s * 99 / 19.2)
    ruler, drums, pad, vocal = (text[i][21:] for i in (1, 2, 4, 5))
    assert ruler.startswith("1") and ruler[12] == "2" and ruler[24] == "3" and ruler[15] == "▼"
    assert text[2].startswith("1 drums") and drums.startswith("c2 kick.wav")
    assert [i for i, ch in enumerate(drums) if ch == "↻"] == [12, 24, 37, 49, 61, 74, 86]  # the loop's repeats
    assert pad[15] == "┃" and pad[24:34] == "c4 pad.wav"  # bar 3 = 4.8 s
    assert text[5].startswith("3 vocal") and text[5][19] == "M" and vocal[49:60] == "c6 take.wav"
    assert text[3] == "   -4.5 dB · pan L 0.25 · fx: none"
    assert text[4].startswith("2 pad")  # at its defaults: no second row
    assert text[6] == "   0 dB · pan C · fx: high-pass 120 Hz → reverb size 0.8 wet 0.2 → compressor -18 dB 3:1"
    assert text[-1] == "master 0 dB · limiter -1 dBFS · fx: none"
    roles = {role for line in lines for *_, role in line.spans}
    assert {"clip0", "muted", "playhead", "fx"} <= roles
    # over a clip's label the playhead keeps the letter and marks the cell
    (over,) = [line for line in project_lines(state, 120, playhead_s=4.9) if line.text.startswith("2 pad")]
    assert over.text[21 + 24 : 21 + 34] == "c4 pad.wav" and (21 + 25, 21 + 26, "cursor") in over.spans


def test_a_long_chain_wraps_between_effects_at_80_columns(session):
    state = song(session).state()
    lines = project_lines(state, 80)
    text = [line.text for line in lines]
    assert all(len(t) <= 80 for t in text)
    chain = text[6:8]
    assert chain[0].endswith("reverb size 0.8 wet 0.2") and chain[1] == "     → compressor -18 dB 3:1"
    assert "▼" not in text[1] and not any("┃" in t for t in text)


def test_no_project_says_how_to_start_one():
    (line,) = project_lines(None, 200)
    assert "put drums.wav on a new track" in line.text


# -- Pilot: the real pipeline with a scripted planner ----------------------------------------------------
class ScriptedPlans:
    """Stands in for llama.cpp: each request gets the next plan (routing is not what this tests)."""

    options = LlmOptions()

    def __init__(self, plans: list[str]) -> None:
        self.plans = list(plans)

    def compile_grammar(self, gbnf):
        return gbnf

    def render_chat(self, messages):
        return "\n".join(m["content"] for m in messages)

    def count_tokens(self, text):
        return len(text.split())

    def warm_prefix(self, prefix):
        return prefix

    def complete(self, prompt, grammar, max_tokens, sampling=None, *, cancel=None, on_text=None, opening=""):
        return Completion(self.plans.pop(0), 10, 5, 1.0, 0)


class SilentPlayer:
    """A player that plays until stopped (no audio device needed)."""

    def __init__(self, device=None) -> None:
        self.stopped = threading.Event()

    def play(self, audio, sample_rate_hz) -> bool:
        self.stopped.wait(60)
        return False

    def stop(self) -> None:
        self.stopped.set()


@pytest.mark.anyio
async def test_the_pane_follows_the_turns_and_the_playhead_the_mix(config, session, monkeypatch):
    from assistant.llm import planner as planner_module

    plans = [
        '{"say":null,"steps":[{"tool":"clip","args":{"op":"place","file":"drums.wav","track":"drums"}}]}',
        '{"say":null,"steps":[{"tool":"track_effect","args":{"op":"add","effect":"reverb","track":"the drums"}}]}',
        '{"say":null,"steps":[{"tool":"render_project","args":{}}]}',
    ]
    monkeypatch.setattr(
        planner_module,
        "load_planner",
        lambda config, registry, name=None, models=None: planner_module.Planner(
            ScriptedPlans(plans), registry, config.planner
        ),
    )
    monkeypatch.setattr("assistant.audio.io.Player", SilentPlayer)
    tone(session.workspace / "drums.wav", seconds=2.0, rate_hz=44100)
    now = [1000.0]
    app = EarshotApp(config, session, llm_name="scripted", speak=False, autoload=False, clock=lambda: now[0])
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(ProjectPane)
        assert not pane.display and not app.check_action("toggle_project", ())  # no project: no pane, no key

        async def ask(text: str) -> None:
            assert app.submit(text)
            await wait_for(pilot, lambda: not app.busy, 120)
            await pilot.pause()

        await ask("put drums.wav on a new track called drums")
        assert pane.display and app.check_action("toggle_project", ())
        view = app.query_one(ProjectView)
        rows = [line.text for line in view.lines(view.content_size.width)]
        assert rows[2].startswith("1 drums") and "c2 drums.wav" in rows[2]
        assert rows[3].endswith("fx: none")

        await ask("add reverb to the drums")
        rows = [line.text for line in view.lines(view.content_size.width)]
        assert rows[3].endswith("fx: reverb size 0.5 wet 0.2")
        assert "#4 drums: added reverb e3" in rows[0]

        await pilot.press("f5")
        assert not pane.display
        await pilot.press("f5")
        assert pane.display

        await ask("render the song")
        view.focus()
        await pilot.press("p")  # plays the newest mix; the playhead starts at 0
        await wait_for(pilot, lambda: view.playhead_s is not None, 10)
        now[0] += 1.0
        await wait_for(pilot, lambda: view.playhead_s == 1.0, 10)
        rows = [line.text for line in view.lines(view.content_size.width)]
        assert "▶ 0:01.0" in rows[0] and "▼" in rows[1] and "┃" in rows[2]
        await pilot.press("p")  # stops: the playhead goes away
        await wait_for(pilot, lambda: view.playhead_s is None, 10)
    assert peek(session).state["tracks"]["t1"]["effects"]["e3"]["type"] == "reverb"


# -- snapshots --------------------------------------------------------------------------------------
async def _relaxed_turn(pilot, session) -> None:
    """A finished "more relaxed" turn over the song, the playhead at 0:05.5 of a playing mix."""
    app = pilot.app
    await settle(pilot)
    project = song(session)
    with project.changes() as tx:
        from assistant.project.vibes import plan_vibe

        changes = [tx.apply(op, **args) for op, args in plan_vibe(tx.state, "relaxed", "master", 1.0)[0]]
    summary = "Made the whole song more relaxed: " + "; ".join(f"#{c.seq} {c.label}" for c in changes) + "."
    for event in (
        TurnStarted(1, session.id, "make it sound more relaxed", "spoken"),
        PlanReady(({"tool": "vibe", "args": {"descriptor": "relaxed"}},), None, 1, 900.0, 20),
        ToolStarted(1, "vibe", {"descriptor": "relaxed"}),
        ToolFinished(1, "vibe", "ok", 0.1, summary),
        Reply(summary, (), 1),
    ):
        app.post_message(PipelineEvent(event))
    app.post_message(TurnDone())  # redraws the project pane, as after any turn
    await pilot.pause()
    app.query_one(ProjectView).set_playhead(5.5)
    await settle(pilot)


@pytest.mark.parametrize(
    "size, theme",
    [((80, 24), None), ((120, 40), None), ((80, 24), "textual-light")],
    ids=["80x24", "120x40", "light-80x24"],
)
def test_project_pane_snapshot(snap_compare, config, snapshot_session, size, theme):
    async def run_before(pilot):
        if theme:
            pilot.app.theme = theme
        await _relaxed_turn(pilot, snapshot_session)

    assert snap_compare(make_app(config, snapshot_session), terminal_size=size, run_before=run_before)
