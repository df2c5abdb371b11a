"""Keys and commands that need no model: listening mode, playing without a device, @ references,
rename, history, completion, slash commands, resuming a session."""

from __future__ import annotations

import pytest

from assistant.audio.io import list_devices
from assistant.ui.app import EarshotApp
from assistant.ui.messages import VoiceStatus
from assistant.ui.widgets.artifacts import ArtifactsPane
from assistant.ui.widgets.conversation import Notice, UserTurn
from assistant.ui.widgets.listening import ListeningStatus
from assistant.ui.widgets.prompt import PromptInput
from tests.conftest import add_input
from tests.ui.conftest import tone, wait_for

pytestmark = pytest.mark.anyio


def make_app(config, session, **kw) -> EarshotApp:
    return EarshotApp(config, session, llm_name="smollm2-135m", speak=False, autoload=False, **kw)


def notices(app) -> str:
    return "\n".join(str(n.render()) for n in app.query(Notice))


async def test_f2_cycles_listening_mode_and_banner_is_honest(config, session):
    app = make_app(config, session)
    async with app.run_test(size=(80, 24)) as pilot:
        widget = app.query_one(ListeningStatus)
        assert widget.banner and "no voice loop" in str(widget.render())
        assert widget.status.mode == "always"
        await pilot.press("f2")
        assert app.mode == widget.status.mode == "push_to_talk" and "push-to-talk" in str(widget.render())
        await pilot.press("f2")
        assert widget.status.mode == "wake_phrase" and "wake phrase" in str(widget.render())
        await pilot.press("f2")
        assert widget.status.mode == "always"


class FakeLoopWithoutMic:
    """Stands in for the voice loop's interface only: it reports that no microphone exists."""

    def __init__(self):
        self.modes = []
        self.talks = 0

    def bind(self, assistant, emit, turn_done):
        pass

    def start(self, status):
        status(VoiceStatus(voice_loop=True, microphone=None))

    def run_text(self, text):
        pass

    def interrupt(self):
        pass

    def set_mode(self, mode):
        self.modes.append(mode)

    def talk(self):
        self.talks += 1

    def stop(self):
        pass


async def test_voice_loop_without_microphone_shows_banner_and_typing_works(config, session):
    loop = FakeLoopWithoutMic()
    app = make_app(config, session, voice_loop=loop)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        widget = app.query_one(ListeningStatus)
        assert widget.banner and "no microphone" in str(widget.render())
        await pilot.press("f2")
        assert loop.modes == ["push_to_talk"]
        await pilot.press("f4")
        assert loop.talks == 1
        assert app.focused is app.query_one(PromptInput)
        await pilot.press("h", "i")
        assert app.query_one(PromptInput).value == "hi"


async def test_play_without_output_device_shows_a_clear_error(config, session):
    if any(d.get("max_output_channels", 0) > 0 for d in list_devices()):
        pytest.skip("an output device exists here; the no-device error cannot be provoked")
    add_input(session, src=tone(session.workspace / "t.wav"), name="t.wav")
    app = make_app(config, session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3", "p")
        await wait_for(pilot, lambda: "cannot play" in notices(app), 30)
        text = notices(app)
        assert "cannot play @a1" in text and "no audio output device" in text
        assert app.player.playing is None  # the key works again


async def test_play_on_a_missing_named_device_names_it(config, session):
    config.speech.output_device = "no-such-speaker"
    add_input(session, src=tone(session.workspace / "t.wav"), name="t.wav")
    app = make_app(config, session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3", "p")
        await wait_for(pilot, lambda: "cannot play" in notices(app), 30)
        assert "no-such-speaker" in notices(app) or "no audio output device" in notices(app)


async def test_insert_reference_rename_and_completion(config, session):
    add_input(session, src=tone(session.workspace / "memo.wav"), name="memo.wav")
    add_input(session, src=tone(session.workspace / "other.wav"), name="other.wav")
    app = make_app(config, session)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(ArtifactsPane)
        assert [a.id for a in pane.artifacts] == ["a1", "a2"]
        await pilot.press("f3", "down", "i")
        prompt = app.query_one(PromptInput)
        assert prompt.value == "@a2 " and app.focused is prompt
        # rename a2 (the label only; the file keeps its name)
        await pilot.press("f3", "r")
        await pilot.pause()
        rename = app.screen.query_one("#rename-input")
        rename.value = "take two"
        await pilot.press("enter")
        await pilot.pause()
        assert session.artifact(2).name == "take two" and session.artifact(2).path.name == "other.wav"
        assert pane.artifacts[1].name == "take two"
        # @ completion of a workspace file with Tab
        prompt.value = ""
        await pilot.click("#prompt")
        await pilot.press("n", "o", "r", "m", "space", "@", "m", "e")
        await wait_for(pilot, lambda: prompt._suggestion, 5)
        await pilot.press("tab")
        assert prompt.value == "norm memo.wav "  # a file completes to its plain name
        prompt.value = "trim @a"
        await wait_for(pilot, lambda: prompt._suggestion, 5)
        await pilot.press("tab")
        assert prompt.value == "trim @a2 "  # the newest artifact first


async def test_history_and_slash_commands(config, session):
    app = make_app(config, session)
    submitted = []
    # /undo is a request to the planner ("undo the last change to the project"): record it instead
    # of running a model turn, which is not what this test is about.
    app.submit = lambda text, source="typed": submitted.append(text) or True
    async with app.run_test(size=(80, 24)) as pilot:
        prompt = app.query_one(PromptInput)
        for cmd in ("/session", "/undo", "/tools"):
            prompt.value = cmd
            await pilot.press("enter")
        await pilot.pause()
        text = notices(app)
        assert session.id in text
        assert submitted == ["undo the last change to the project"] or "/undo is not available yet" in text
        assert "describe" in text and "transcribe" in text
        await pilot.press("up")
        assert prompt.value == "/tools"
        await pilot.press("up", "up")
        assert prompt.value == "/session"
        await pilot.press("down", "down", "down")
        assert prompt.value == ""
        prompt.value = "/hel"
        await wait_for(pilot, lambda: prompt._suggestion == "/help", 5)
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "MainScreen"


async def test_resumed_session_shows_earlier_turns(config, session):
    turn = session.begin_turn("describe memo.wav", "spoken")
    session.end_turn(turn, "ok", reply="It is 3.0 s long.")
    app = make_app(config, session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        user = app.query_one(UserTurn)
        assert user.text == "describe memo.wav" and user.source == "spoken"
        assert "🎤" in str(user.render())
        assert "It is 3.0 s long." in notices(app)
