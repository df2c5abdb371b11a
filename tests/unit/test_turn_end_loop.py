"""The voice loop asks the turn-end model (Smart Turn's stand-in, tests/fixtures/voice.py) whether a pause ends
the turn, beside the transcript rule: driven frame by frame over the fakes, no model, milliseconds."""

from __future__ import annotations

import pytest

from assistant.events import SpeechEnded, TurnStarted
from tests.fixtures.voice import FakeTurnModel, make_rig, silence, speech
from tests.unit.test_voice_loop import ends_on_its_last_silent_frame, run

UNFINISHED_TEXT = "remove the noise from the"  # the rule says: it goes on
FINISHED_TEXT = "Describe memo.wav."  # the rule says: finished


async def judged(rig, *frames) -> None:
    """Push `frames` (ending on a pause's first silent frame) and wait for that pause's transcript and, when the
    model is asked, its judgement — as a live microphone would, ~32 ms a frame, give them time to come."""
    rig.source.push(*frames)
    spec = lambda: rig.loop.speculator.pause
    await rig.until(lambda: spec() is not None and spec().text is not None)
    if spec().turn_task is not None:
        await rig.until(lambda: spec().turn_probability is not None)


@pytest.mark.parametrize(
    "strategy, text, probability, reason, silent_frames",
    [
        # The model decides: a finished-sounding turn ends at turn_model_min_silence_ms (160 ms: 5 frames) even
        # though its transcript ends on "the"; an unfinished-sounding one waits for max_silence_ms (25) though
        # its transcript looks finished.
        ("model", UNFINISHED_TEXT, 0.93, "complete", 5),
        ("model", FINISHED_TEXT, 0.12, "max_silence", 25),
        # Both must agree (the default).
        ("model_and_rule", UNFINISHED_TEXT, 0.93, "max_silence", 25),
        ("model_and_rule", FINISHED_TEXT, 0.93, "complete", 5),
        ("model_and_rule", FINISHED_TEXT, 0.12, "max_silence", 25),
        # The rule alone, at min_silence_ms (224 ms: 7 frames): the model is never asked.
        ("rule", UNFINISHED_TEXT, 0.93, "max_silence", 25),
        ("rule", FINISHED_TEXT, 0.12, "complete", 7),
    ],
)
def test_the_turn_end_model_decides_when_a_pause_ends_the_turn(
    config, session, strategy, text, probability, reason, silent_frames
):
    config.voice.endpoint.turn_end = strategy
    model = FakeTurnModel({1: probability})
    rig = make_rig(config, session, {1: text}, speak=False, turn_model=model)

    async def scenario(rig):
        await judged(rig, speech(12, 1), silence(1))  # the first silent frame: transcript and judgement made
        await ends_on_its_last_silent_frame(rig, silent_frames)

    run(rig, scenario)
    (ended,) = rig.of(SpeechEnded)
    assert (ended.reason, ended.silence_ms) == (reason, silent_frames * 32)
    assert [t.text for t in rig.of(TurnStarted)] == [text]
    assert model.calls == (0 if strategy == "rule" else 1)  # once, at the pause's first silent frame


def test_speech_again_throws_the_pause_judgement_away(config, session):
    """The model said "finished" at a short pause, then the user went on: that answer is void, and the next
    pause is judged afresh (here: unfinished, so the turn waits for max_silence_ms)."""
    config.voice.endpoint.turn_end = "model"
    model = FakeTurnModel({1: 0.95, 2: 0.1})
    rig = make_rig(config, session, {2: FINISHED_TEXT}, speak=False, turn_model=model)

    async def scenario(rig):
        await judged(rig, speech(12, 1), silence(1))
        rig.source.push(silence(2), speech(8, 2), silence(25))  # 3 silent frames: shorter than 160 ms
        await rig.until(lambda: rig.of(SpeechEnded))
        await rig.idle()

    run(rig, scenario)
    (ended,) = rig.of(SpeechEnded)
    assert (ended.reason, ended.silence_ms) == ("max_silence", 25 * 32)
    assert model.calls == 2


def test_without_the_model_installed_the_rule_decides_and_a_wrong_setting_is_an_error(config, session, tmp_path):
    from dataclasses import replace

    from assistant.audio_models.registry import Registry
    from assistant.errors import EarshotError
    from assistant.pipeline import Assistant

    config.paths = replace(config.paths, models_dir=tmp_path / "empty-store")
    assistant = Assistant(config, session, registry=Registry([]))
    config.voice.endpoint.turn_end = "model"
    assert assistant.turn_end_model(config.voice.endpoint) is None  # nothing to load: the transcript rule
    config.voice.endpoint.turn_end = "sometimes"
    with pytest.raises(EarshotError, match="turn_end"):
        assistant.turn_end_model(config.voice.endpoint)
