"""The voice loop's decisions, driven frame by frame over fakes (tests/fixtures/voice.py): endpointing,
speculation, barge-in (stop, resume), the wake window, a request superseding a running turn, and the
typed path beside the spoken one. The real loop, turn runner, speaker and session store run; no
model, no audio device — each test takes milliseconds."""

from __future__ import annotations

import asyncio

import pytest

from assistant.errors import EarshotError
from assistant.events import (
    AudioOut,
    BargeInDismissed,
    Interrupted,
    PlaybackStarted,
    Reply,
    SpeculationCancelled,
    SpeechDiscarded,
    SpeechEnded,
    SpeechStarted,
    Transcript,
    TurnStarted,
    WakeDetected,
)
from tests.fixtures.voice import FakePlanner, make_rig, silence, speech

LONG = "Here is a longer answer. It goes on for a while. So that there is time to interrupt it."


def run(rig, scenario) -> None:
    """Run the loop and the scenario side by side; stop the loop when the scenario ends."""

    async def main() -> None:
        runner = asyncio.create_task(rig.loop.run())
        try:
            await scenario(rig)
        finally:
            rig.planner.release.set()
            if rig.sink is not None:
                rig.sink.finish()
            rig.loop.stop()
            await asyncio.wait_for(runner, 5)

    asyncio.run(main())


async def say(rig, utterance: int, frames: int = 12) -> None:
    """The user speaks utterance k, then the first silent frame: the pause's transcript is ready."""
    rig.source.push(speech(frames, utterance), silence(1))
    await rig.until(lambda: rig.loop.speculator.pause is not None and rig.loop.speculator.pause.text is not None)


async def ends_on_its_last_silent_frame(rig, silent_frames: int) -> None:
    """After a pause's first silent frame: one frame short of `silent_frames` the utterance has not ended;
    the next frame ends it."""
    rig.source.push(silence(silent_frames - 2))
    await rig.until(rig.heard_all)
    await asyncio.sleep(0.05)
    assert not rig.of(SpeechEnded)
    rig.source.push(silence(1))
    await rig.until(lambda: rig.of(SpeechEnded))
    await rig.idle()


# -- endpointing -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, reason, silent_frames",
    [
        ("Describe memo.wav.", "complete", 7),  # min_silence_ms 224: a finished-looking transcript
        ("remove the noise from the", "max_silence", 25),  # max_silence_ms 800: it may go on
    ],
)
def test_the_turn_ends_sooner_when_the_transcript_looks_finished(config, session, text, reason, silent_frames):
    rig = make_rig(config, session, {1: text}, speak=False)

    async def scenario(rig):
        await say(rig, 1)
        await ends_on_its_last_silent_frame(rig, silent_frames)

    run(rig, scenario)
    (ended,) = rig.of(SpeechEnded)
    assert ended.reason == reason and ended.silence_ms == silent_frames * 32
    assert [t.text for t in rig.of(TurnStarted)] == [text]


# -- speculation ---------------------------------------------------------------------------------------------
def test_speech_after_a_pause_cancels_the_speculative_plan(config, session):
    planner = FakePlanner()
    planner.hold = True
    rig = make_rig(config, session, {1: "What can you do?"}, speak=False, planner=planner)

    async def scenario(rig):
        await say(rig, 1)
        await rig.until(lambda: planner.started)  # planning began at the pause
        rig.source.push(speech(4, 1))  # the user goes on
        await rig.until(lambda: rig.of(SpeculationCancelled) and planner.cancelled)
        planner.release.set()
        rig.source.push(silence(25))
        await rig.until(lambda: rig.of(Reply))
        await rig.idle()

    run(rig, scenario)
    assert planner.cancelled == ["What can you do?"]  # the held plan stopped at its cancel
    assert len(planner.started) == 2 and len(rig.of(TurnStarted)) == 1
    assert session.turns()[-1]["status"] == "ok"


# -- barge-in ------------------------------------------------------------------------------------------------
def _typed_reply_playing(rig):
    """A typed request whose spoken reply (LONG) is on the speaker, not finished."""
    rig.planner.default_say = LONG
    rig.loop.run_text("tell me a story")
    return rig.until(lambda: rig.of(PlaybackStarted) and rig.sink.busy)


def test_the_users_words_over_the_reply_stop_it_and_the_history_keeps_what_was_heard(config, session):
    rig = make_rig(config, session, {2: "Stop, please."})

    async def scenario(rig):
        await _typed_reply_playing(rig)
        rig.source.push(speech(6, 2))
        await rig.until(lambda: rig.of(SpeechStarted))
        assert rig.sink.paused  # held at once, before any transcript
        rig.source.push(silence(30))
        await rig.until(lambda: rig.of(Interrupted) and rig.of(SpeechDiscarded))
        await rig.idle()

    run(rig, scenario)
    (stop,) = rig.of(Interrupted)
    assert stop.reason == "barge-in" and stop.heard and LONG.startswith(stop.heard.rstrip(" …"))
    assert [e.reason for e in rig.of(SpeechDiscarded)] == ["stop_command"]  # "stop" is no new request
    turns = session.turns()
    assert len(turns) == 1 and turns[0]["status"] == "interrupted" and turns[0]["reply_text"] == stop.heard


@pytest.mark.parametrize("then, new_turn", [("Please.", False), ("Describe memo.wav.", True)])
def test_speech_right_after_a_barge_in_is_its_tail_unless_it_asks_for_something(config, session, then, new_turn):
    """ "Stop." … "please": the turn-end model may end the first word on its own; the second, said after
    the reply stopped, is no request (it would have been discarded over the reply)."""
    rig = make_rig(config, session, {2: "Stop.", 3: then})

    async def scenario(rig):
        await _typed_reply_playing(rig)
        rig.source.push(speech(6, 2), silence(30))
        await rig.until(lambda: rig.of(Interrupted) and rig.of(SpeechDiscarded))
        rig.source.push(speech(6, 3), silence(30))
        await rig.until(lambda: len(rig.of(SpeechDiscarded)) == 2 or len(rig.of(TurnStarted)) == 2)
        if new_turn:
            await rig.until(lambda: len(rig.of(AudioOut)) == 6)  # the second reply's three sentences, queued
            rig.sink.finish()
        await rig.idle()

    run(rig, scenario)
    assert [e.reason for e in rig.of(SpeechDiscarded)] == ["stop_command"] + ([] if new_turn else ["stop_command"])
    assert [t["user_text"] for t in session.turns()] == ["tell me a story"] + ([then] if new_turn else [])


def test_its_own_voice_over_the_reply_resumes_it(config, session):
    rig = make_rig(config, session, {2: "It goes on for a while."})

    async def scenario(rig):
        await _typed_reply_playing(rig)
        rig.source.push(speech(6, 2))
        await rig.until(lambda: rig.sink.paused)
        rig.source.push(silence(30))
        await rig.until(lambda: rig.of(BargeInDismissed))
        assert not rig.sink.paused  # it goes on where it paused
        rig.sink.finish()
        await rig.until(lambda: session.turns()[-1]["status"] != "running")
        await rig.idle()

    run(rig, scenario)
    assert rig.of(BargeInDismissed)[0].reason == "own_voice"
    assert not rig.of(Interrupted)
    assert [t["status"] for t in session.turns()] == ["ok"]


@pytest.mark.parametrize(
    "heard, stops",
    [
        ("Stop.", True),  # one sure frame: too short for an onset, so its transcript decides
        ("Quiet!", True),
        ("Please.", True),  # what the echo canceller left of "Stop, please" with a loud echo
        ("Thank you.", False),  # what Whisper makes of a cough as often as not
        ("So.", False),
        ("It goes", False),  # our own voice, leaking past the echo canceller
    ],
)
def test_a_word_too_short_for_an_onset_over_the_reply_is_transcribed(config, session, heard, stops):
    rig = make_rig(config, session, {2: heard})

    async def scenario(rig):
        await _typed_reply_playing(rig)
        rig.source.push(speech(1, 2))  # one frame: a Candidate pauses the reply, no Onset follows
        await rig.until(lambda: rig.sink.paused)
        rig.source.push(silence(12))
        await rig.until(lambda: rig.of(SpeechDiscarded))
        if not stops:
            assert not rig.sink.paused  # it goes on where it paused
            rig.sink.finish()
        await rig.until(lambda: session.turns()[-1]["status"] != "running")
        await rig.idle()

    run(rig, scenario)
    assert not rig.of(SpeechStarted)  # never an utterance of its own
    assert [e.reason for e in rig.of(SpeechDiscarded)] == ["stop_command" if stops else "transient"]
    assert bool(rig.of(Interrupted)) == stops
    assert session.turns()[-1]["status"] == ("interrupted" if stops else "ok")


def test_esc_stops_a_typed_turn_like_a_barge_in(config, session):
    rig = make_rig(config, session, {})

    async def scenario(rig):
        await _typed_reply_playing(rig)
        rig.loop.interrupt()
        await rig.until(lambda: rig.of(Interrupted))
        await rig.idle()

    run(rig, scenario)
    assert rig.of(Interrupted)[0].reason == "user"
    assert session.turns()[0]["status"] == "interrupted"


# -- wake phrase ---------------------------------------------------------------------------------------------
def test_a_bare_wake_phrase_opens_a_window_for_the_request(config, session):
    rig = make_rig(
        config, session, {1: "Hey Earshot.", 2: "What can you do?", 3: "Make it louder."}, speak=False, mode="wake"
    )

    async def scenario(rig):
        for k in (3, 1, 2):
            await say(rig, k)
            rig.source.push(silence(26))
            await rig.until(lambda k=k: len(rig.of(SpeechEnded)) == [3, 1, 2].index(k) + 1)
            await rig.idle()

    run(rig, scenario)
    assert [e.reason for e in rig.of(SpeechDiscarded)] == ["no_wake_phrase"]  # no phrase, no window
    assert len(rig.of(WakeDetected)) == 1
    assert [t.text for t in rig.of(TurnStarted)] == ["What can you do?"]


# -- superseding ---------------------------------------------------------------------------------------------
def test_a_new_request_supersedes_the_running_turn(config, session):
    planner = FakePlanner()
    planner.hold = True
    rig = make_rig(
        config,
        session,
        {1: "Tell me a story.", 2: "Describe memo.wav instead."},
        speak=False,
        planner=planner,
        mode="push_to_talk",
    )

    async def scenario(rig):
        for k in (1, 2):
            rig.loop.push_to_talk(True)
            rig.source.push(speech(10, k))
            await rig.until(rig.heard_all)
            rig.loop.push_to_talk(False)
            await rig.until(lambda k=k: len(planner.started) == k)
        await rig.until(lambda: rig.of(Interrupted))
        planner.release.set()
        await rig.until(lambda: len(rig.of(Reply)) == 1)
        await rig.idle()

    run(rig, scenario)
    assert rig.of(Interrupted)[0].reason == "superseded"
    assert [(t["user_text"], t["status"]) for t in session.turns()] == [
        ("Tell me a story.", "interrupted"),
        ("Describe memo.wav instead.", "ok"),
    ]


# -- typed beside spoken ---------------------------------------------------------------------------------------
def test_a_typed_request_while_speech_is_being_heard_is_refused_not_lost(config, session):
    rig = make_rig(config, session, {1: "What can you do?"}, speak=False)

    async def scenario(rig):
        rig.source.push(speech(8, 1))
        await rig.until(lambda: rig.of(SpeechStarted) and rig.heard_all())
        with pytest.raises(EarshotError, match="being heard"):
            rig.loop.run_text("describe memo.wav")
        rig.source.push(silence(30))
        await rig.until(lambda: rig.of(Reply))
        await rig.idle()
        rig.planner.hold = True
        rig.loop.run_text("describe memo.wav")  # taken once the spoken turn is answered
        await rig.until(lambda: len(rig.planner.started) == 2)
        with pytest.raises(EarshotError, match="still running"):
            rig.loop.run_text("again")  # and refused while that one runs
        rig.planner.release.set()
        await rig.until(lambda: len(rig.of(Reply)) == 2)
        await rig.idle()

    run(rig, scenario)
    assert [(t["user_text"], t["source"]) for t in session.turns()] == [
        ("What can you do?", "spoken"),
        ("describe memo.wav", "typed"),
    ]


def test_the_transcript_carries_the_language_it_was_heard_in(config, session):
    rig = make_rig(config, session, {1: "¿Qué puedes hacer?"}, speak=False, language="es")

    async def scenario(rig):
        await say(rig, 1)
        rig.source.push(silence(26))
        await rig.until(lambda: rig.of(Transcript))
        await rig.idle()

    run(rig, scenario)
    assert rig.of(Transcript)[0].language == "es"


def test_a_turn_stopped_before_it_spoke_keeps_no_earlier_reply_as_heard(config, session):
    """The speaker's last reply belongs to the turn before: a turn cut while planning heard nothing."""
    planner = FakePlanner()
    rig = make_rig(config, session, {}, planner=planner)

    async def scenario(rig):
        rig.loop.run_text("hello")
        await rig.until(lambda: rig.of(PlaybackStarted))
        rig.sink.finish()
        await rig.idle()
        planner.hold = True
        rig.loop.run_text("tell me a story")
        await rig.until(lambda: len(planner.started) == 2)
        rig.loop.interrupt()
        await rig.until(lambda: rig.of(Interrupted))
        await rig.idle()

    run(rig, scenario)
    first, second = session.turns()
    assert first["status"] == "ok" and first["reply_text"] == "Okay."
    assert second["status"] == "interrupted" and second["reply_text"] is None
    assert rig.of(Interrupted)[0].heard == ""


def test_a_failure_in_the_capture_thread_ends_listening_with_the_error_instead_of_going_deaf():
    """The frames of a live microphone are made in a capture thread: an exception there (seen in a traced bench
    run, raised inside the frame pipeline) killed the thread and left the loop waiting for frames forever."""
    from assistant.voice.pump import FramePump

    class Block:
        audio, end_s = [0.0] * 160, 0.0

    class LiveSource:
        live = True

        def read(self, timeout=None):
            return Block()

    class BrokenPipeline:
        def feed(self, audio, end_s):
            raise ValueError("bad block")

    pump = FramePump(LiveSource(), BrokenPipeline(), lambda: [])

    async def listen() -> None:
        async for _ in pump.frames(asyncio.Event()):
            pass

    with pytest.raises(EarshotError) as info:
        asyncio.run(asyncio.wait_for(listen(), 10))
    pump.close()
    assert "listening stopped" in info.value.message and "ValueError: bad block" in info.value.message
