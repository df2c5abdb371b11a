"""The TUI's bridge to the voice loop (ui/voice_bridge.py) over the fakes of tests/fixtures/voice.py: a
typed request either runs on the loop or is refused there and then, with the reason — never lost."""

from __future__ import annotations

import time

import pytest

from assistant.errors import EarshotError
from assistant.events import Reply, SpeechEnded, TurnStarted
from assistant.ui.voice_bridge import TuiVoice
from tests.fixtures.voice import (
    FakeAssistant,
    FakePlanner,
    FakeRecognizer,
    ScriptedFrames,
    ScriptedSource,
    silence,
    speech,
)


def wait(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.002)


@pytest.fixture
def bridge(config, session):
    events: list = []
    recognizer = FakeRecognizer({1: "What can you do?"})
    assistant = FakeAssistant(config, session, recognizer, FakePlanner(), events.append)
    source = ScriptedSource()
    voice = TuiVoice(config, speak=False, source=source, frames=ScriptedFrames())
    voice.bind(assistant, events.append, lambda: None)
    voice.start(lambda status: None)
    voice.events, voice.source, voice.recognizer = events, source, recognizer
    yield voice
    recognizer.release.set()
    voice.stop()


def test_a_typed_request_runs_on_the_voice_loop(bridge, session):
    bridge.run_text("hello there")
    wait(lambda: any(isinstance(e, Reply) for e in bridge.events))
    assert [(t["user_text"], t["source"]) for t in session.turns()] == [("hello there", "typed")]


def test_a_typed_request_while_a_spoken_one_is_being_transcribed_is_refused_with_the_reason(bridge, session):
    wait(lambda: bridge.running)
    bridge.recognizer.hold = True  # the spoken request's transcript is on its way
    bridge.source.push(speech(10, 1), silence(30))
    wait(lambda: any(isinstance(e, SpeechEnded) for e in bridge.events))
    with pytest.raises(EarshotError, match="still running"):
        bridge.run_text("describe memo.wav")  # not scheduled and dropped: refused, the prompt keeps it
    bridge.recognizer.release.set()
    wait(lambda: any(isinstance(e, Reply) for e in bridge.events))
    assert [e.text for e in bridge.events if isinstance(e, TurnStarted)] == ["What can you do?"]
