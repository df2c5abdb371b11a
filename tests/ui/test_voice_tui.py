"""The TUI with its real voice loop (ui/voice_bridge.py) on a private PulseAudio server: the listening
line follows the loop, F2 switches the loop's mode, a spoken request becomes a spoken turn in the
conversation and is answered aloud, and Esc during the spoken answer interrupts it through the same
path as a barge-in (`Interrupted`; the history keeps what was heard).

The planner is canned (a spoken answer at once): the LLM is covered by the pipeline tests; here the
wiring between microphone, voice loop, pipeline and widgets is under test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assistant.ui.app import EarshotApp
from assistant.ui.widgets.conversation import AssistantReply, UserTurn
from assistant.ui.widgets.listening import ListeningStatus
from tests.conftest import word_error_rate
from tests.ui.conftest import TEST_LLM, wait_for

sys.path.insert(0, str(Path(__file__).parent.parent / "integration"))
from voice_signals import canned_plan, hibari, require_pulse  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

LONG = (
    "Here is a longer answer, so that there is time to interrupt me. I can transcribe speech, speak text aloud, "
    "remove noise, measure loudness and edit audio files. Name a file and I will start."
)


@pytest.fixture
def pulse_server():
    from assistant.audio import io
    from assistant.audio.pulse import VirtualAudioServer

    require_pulse("whisper-tiny.en", "hibari-heart", TEST_LLM)
    server = VirtualAudioServer()
    server.start()
    io.refresh_devices()
    yield server
    server.stop()
    io.refresh_devices()


async def test_spoken_request_mode_switch_and_escape_through_the_voice_loop(config, session, pulse_server):
    from assistant.events import Interrupted, PlaybackStarted, PlaybackStopped
    from assistant.ui.messages import PipelineEvent
    from assistant.ui.voice_bridge import TuiVoice

    seen = []

    class Recording(EarshotApp):
        CSS_PATH = Path(sys.modules[EarshotApp.__module__].__file__).with_name(EarshotApp.CSS_PATH)

        def on_pipeline_event(self, message: PipelineEvent) -> None:
            seen.append(message.event)
            super().on_pipeline_event(message)

    bridge = TuiVoice(config, speak=True)
    app = Recording(config, session, llm_name=TEST_LLM, speak=True, voice_loop=bridge)
    async with app.run_test(size=(100, 30)) as pilot:
        widget = app.query_one(ListeningStatus)
        await wait_for(pilot, lambda: bridge.running and widget.status.microphone, 120)
        assert not widget.banner and "🎤" in str(widget.render())
        # The greeting plays first (it adapts the echo canceller), then the loop idles.
        await wait_for(pilot, lambda: any(isinstance(e, PlaybackStopped) for e in seen), 120)
        await wait_for(pilot, lambda: widget.status.vad_state == "idle" and not bridge.loop.speaker.busy, 30)

        # F2 switches the loop's own mode (its ModeChanged comes back into the widget), and back.
        await pilot.press("f2")
        await wait_for(pilot, lambda: bridge.loop.mode == "push_to_talk" and widget.status.mode == "push_to_talk", 10)
        assert "push-to-talk" in str(widget.render())
        await pilot.press("f2", "f2")
        await wait_for(pilot, lambda: bridge.loop.mode == "always" and widget.status.mode == "always", 10)

        # A spoken request: a spoken turn in the conversation, answered aloud.
        async def wait_explained(predicate, timeout_s: float) -> None:
            """wait_for, and on a timeout what the loop saw since the request was played."""
            try:
                await wait_for(pilot, predicate, timeout_s)
            except AssertionError:
                seen_names = [type(e).__name__ for e in seen[since:]]
                raise AssertionError((seen_names, bridge.loop.discarded, bridge.status)) from None

        canned_plan(bridge.loop, "I work on your audio files.")
        since = len(seen)
        pulse_server.feeder.play(hibari("What can you do?"))
        await wait_explained(lambda: app.query(UserTurn), 120)
        turn = app.query(UserTurn).last()
        assert turn.source == "spoken" and word_error_rate("What can you do?", turn.text) == 0.0
        await wait_for(pilot, lambda: any(isinstance(e, PlaybackStopped) for e in seen[since:]), 120)
        await wait_for(pilot, lambda: not app.busy, 60)
        assert app.query(AssistantReply).last().text == "I work on your audio files."
        stopped = [e for e in seen[since:] if isinstance(e, PlaybackStopped)][-1]
        assert stopped.reason == "finished" and stopped.heard == "I work on your audio files."
        assert session.turns()[-1]["status"] == "ok"

        # Esc during a spoken answer: the same Interrupted as a barge-in; history keeps what was heard.
        await wait_for(pilot, lambda: widget.status.vad_state == "idle", 30)
        canned_plan(bridge.loop, LONG)
        since = len(seen)
        pulse_server.feeder.play(hibari("Tell me more."))
        await wait_explained(lambda: any(isinstance(e, PlaybackStarted) for e in seen[since:]), 120)
        await pilot.pause(1.5)
        await pilot.press("escape")
        await wait_for(pilot, lambda: any(isinstance(e, Interrupted) for e in seen[since:]), 30)
        await wait_for(pilot, lambda: not app.busy, 30)
        interrupted = [e for e in seen[since:] if isinstance(e, Interrupted)][0]
        assert interrupted.heard and LONG.startswith(interrupted.heard.rstrip(" …"))
        assert app.query(AssistantReply).last().state == "interrupted"
        last = session.turns()[-1]
        assert last["status"] == "interrupted" and last["reply_text"] == interrupted.heard
        assert not bridge.loop.speaker.busy
