"""Before the first request: everything a turn loads is loaded (the first spoken request pays for none of it),
then the greeting."""

from __future__ import annotations

import asyncio

import numpy as np


async def warm_up(loop) -> None:
    """ASR (one short pass), the turn-end model, the command path's templates, the planner, the TTS, and
    the per-turn context evaluated into the KV cache, for a `VoiceLoop`."""
    assistant, speculator = loop.assistant, loop.speculator
    rec = await asyncio.to_thread(assistant.short_recognizer, loop.listen.asr_engine)
    await asyncio.to_thread(rec.transcribe_short, np.zeros(8000, np.float32))
    if speculator.judge is not None:
        await speculator.judge(np.zeros(8000, np.float32))
    await asyncio.to_thread(assistant.fast_plan, "hello")
    await asyncio.to_thread(lambda: assistant.planner)
    if loop.speaker is not None:
        await loop.speaker.tts()
    if loop.listen.prefill_context:
        await speculator.prefill_context()


async def greet(loop) -> None:
    """Say the greeting (see ListenOptions.greeting) when a live speaker is attached."""
    if loop.listen.greeting and loop.speaker is not None and loop.speaker.live:
        await loop.speaker.say(loop.listen.greeting)
