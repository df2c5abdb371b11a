"""The turn-end model's bar is lower for a transcript the command path took whole as a command
(voice/speculation.py `Speculator.completion`): Smart Turn heard "Undo that." as unfinished now and then, and
the turn waited for max_silence_ms. A fake recogniser, turn-end model and planner; no model runs."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.config import EndpointOptions, ListenOptions
from assistant.voice.speculation import Speculator


def _completion(probability: float, planner: str, turn_end: str = "model_and_rule") -> bool | None:
    async def transcribe(audio, **_):
        return SimpleNamespace(text="Undo that.", elapsed_ms=1.0)

    async def judge(audio):
        return SimpleNamespace(probability=probability)

    async def plan(text, cancel, on_sentence):
        return SimpleNamespace(planner=planner, plan=SimpleNamespace(steps=[{"tool": "undo", "args": {}}]))

    async def main():
        spec = Speculator(
            ListenOptions(),
            transcribe,
            plan=plan,
            prefill=None,
            speaker=None,
            emit=lambda e: None,
            on_transcript=lambda text, final: None,
            judge=judge,
            endpoint=EndpointOptions(turn_end=turn_end),
        )
        spec.on_onset()
        spec.on_pause(np.zeros(16_000, np.float32), 0.0, 0.0, planning=True, accept=lambda r: True)
        for _ in range(50):  # the ASR, the turn-end model, then the plan on the transcript
            await asyncio.sleep(0.001)
        assert spec.pause.plan_task is not None and spec.pause.plan_task.done()
        return spec.completion()

    return asyncio.run(main())


@pytest.mark.parametrize("probability", [0.3, 0.45])
def test_a_whole_command_ends_the_turn_though_the_model_is_unsure(probability):
    assert _completion(probability, "fast") is True


@pytest.mark.parametrize(
    "probability, planner, turn_end, why",
    [
        (0.3, "llm", "model_and_rule", "the command path did not take it: the model's own bar"),
        (0.1, "fast", "model_and_rule", "the model is sure it is unfinished"),
        (0.3, "fast", "model", "the model alone decides: the rule is not asked, nor the command path"),
    ],
)
def test_the_models_bar_stands_otherwise(probability, planner, turn_end, why):
    assert _completion(probability, planner, turn_end) is False, why
