"""A command is answered at once with what is being done ("Measuring tone.wav."), while the tools run:
the phrase comes from each tool's SPEC.doing; the LLM's first step is handed out as soon as it is decoded;
in the voice loop the acknowledgement is synthesised before the user's turn has ended."""

from __future__ import annotations

import time

import numpy as np
import soundfile as sf

from assistant.audio_models.registry import default_registry
from assistant.events import AudioOut, ReplySentence, SpeechEnded, ToolFinished, ToolStarted, TurnTiming
from assistant.llm.plan import Step
from assistant.llm.say_stream import FirstStep
from assistant.reply import acknowledgement
from tests.fixtures.voice import FakePlanner, FakeTTS, make_rig, silence
from tests.unit.test_voice_loop import run, say


def test_the_acknowledgement_names_each_action_and_its_object(session):
    registry = default_registry()
    steps = [Step("denoise", {"file": "memo.wav"}), Step("transcribe", {"file": "$1"})]
    said = acknowledgement(steps, registry, session)
    assert said == "Removing the noise from memo.wav, then writing down what it says."
    assert acknowledgement([Step("track_effect", {"op": "add", "effect": "reverb", "track": "vocal"})], registry) == (
        "Adding reverb."
    )
    assert acknowledgement([Step("vibe", {"descriptor": "relaxed"})], registry) == "Making it relaxed."
    every = [t for t in registry if not t.spec.doing]
    assert not every, [t.name for t in every]  # every tool can say what it is doing


def test_the_first_step_is_handed_out_the_moment_it_is_decoded():
    plan = '{"say":null,"steps":[{"tool":"edit","args":{"op":"trim","file":"a{b}.wav"}},{"tool":"describe","args":{}}]}'
    got, seen_at = [], None
    stream = FirstStep(got.append)
    for i in range(1, len(plan) + 1):
        stream.feed(plan[:i])
        if got and seen_at is None:
            seen_at = i
    assert got == [{"tool": "edit", "args": {"op": "trim", "file": "a{b}.wav"}}]
    assert plan[:seen_at].endswith('"a{b}.wav"}}')  # not a character later; braces in strings skipped


def test_a_spoken_command_is_acknowledged_before_its_turn_ends_and_answered_after_its_tool(config, session):
    sf.write(session.workspace / "tone.wav", 0.1 * np.sin(np.arange(16_000) / 5.0), 16_000)
    plans = {"describe tone.wav": '{"say":null,"steps":[{"tool":"describe","args":{"file":"tone.wav"}}]}'}
    rig = make_rig(config, session, {1: "Describe tone.wav."}, planner=FakePlanner(plans))

    async def scenario(rig):
        await say(rig, 1)
        # The pause's plan is acknowledged while the user is still silent; frames arrive faster than real
        # time here, so the turn's end waits for that moment instead of racing it on a busy CPU.
        await rig.until(lambda: rig.loop.speculator.pause.clock.first_sentence_s is not None)
        rig.source.push(silence(8))
        await rig.until(lambda: rig.of(SpeechEnded) and rig.of(ToolFinished))
        rig.sink.finish()  # the acknowledgement has played; the result follows it
        await rig.until(lambda: len(rig.of(ReplySentence)) >= 2)

        def played_to_the_end() -> bool:  # the result may be one sentence or several
            rig.sink.finish()
            return bool(rig.of(TurnTiming))

        await rig.until(played_to_the_end)
        await rig.idle()

    run(rig, scenario)
    sentences = [e.text for e in rig.of(ReplySentence)]
    assert sentences[0] == "Measuring tone.wav."
    timing = rig.of(TurnTiming)[0]
    assert timing.first_sentence_s < timing.endpoint_s  # synthesised ahead, spoken at the commit
    order = [type(e).__name__ for e in rig.events if isinstance(e, (ReplySentence, ToolFinished))]
    assert order[0] == "ReplySentence" and "ToolFinished" in order[1:]
    assert session.turns()[-1]["status"] == "ok"


def test_the_tools_start_once_the_acknowledgement_is_on_the_speaker(config, session, monkeypatch):
    """On two cores a tool started beside the acknowledgement's synthesis slowed it ~10x; the user waits for
    that sentence, so the tools wait for it (at most a second)."""
    sf.write(session.workspace / "tone.wav", 0.1 * np.sin(np.arange(16_000) / 5.0), 16_000)
    plans = {"describe tone.wav": '{"say":null,"steps":[{"tool":"describe","args":{"file":"tone.wav"}}]}'}
    rig = make_rig(config, session, {}, planner=FakePlanner(plans))
    synthesize = FakeTTS.synthesize
    monkeypatch.setattr(FakeTTS, "synthesize", lambda self, text, **kw: (time.sleep(0.3), synthesize(self, text))[1])

    async def scenario(rig):
        rig.loop.run_text("describe tone.wav")

        def played_to_the_end() -> bool:
            rig.sink.finish()
            return bool(rig.of(ToolFinished)) and rig.loop.running_turn is None

        await rig.until(played_to_the_end)
        await rig.idle()

    run(rig, scenario)
    order = [type(e).__name__ for e in rig.events if isinstance(e, (AudioOut, ToolStarted))]
    assert order[:2] == ["AudioOut", "ToolStarted"]
    assert session.turns()[-1]["status"] == "ok"
