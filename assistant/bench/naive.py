"""The naive sequential pipeline that `earshot bench latency` measures the voice loop against.

Not a mode of the product: a configuration of the same loop. It waits 700 ms of silence always (no
completion check), makes no partial transcripts, no speculation and no prefill, transcribes with the
ordinary 30 s-window Whisper call, plans only after the transcript (nothing streamed), and
synthesises the whole reply before any of it plays. Never faster; there to be measured against.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import numpy as np

from ..config import VoiceOptions
from ..runtime.asr import ShortResult
from ..voice.speaker import Speaker


def naive_options(voice: VoiceOptions) -> VoiceOptions:
    listen = replace(
        voice.listen,
        speculate=False,
        speculate_on_partials=False,
        partial_interval_ms=10**9,
        stream_replies=False,
        prefill_context=False,
        acknowledge=False,
    )
    endpoint = replace(voice.endpoint, min_silence_ms=700, max_silence_ms=700, turn_end="rule")
    return replace(voice, listen=listen, endpoint=endpoint)


def full_window_transcriber(assistant):
    """The ordinary faster-whisper call (30 s window), shaped like the fast path's result."""

    async def transcribe(audio: np.ndarray, **_) -> ShortResult:  # partials are off: no `proceed`
        rec = await asyncio.to_thread(assistant.recognizer)
        t0 = time.perf_counter()
        result = await asyncio.to_thread(rec.transcribe, audio)
        return ShortResult(
            result.text, 0.0, 0.0, result.duration_s, round((time.perf_counter() - t0) * 1000, 1), result.language
        )

    return transcribe


class WholeReplySpeaker(Speaker):
    """Synthesises a whole reply before any of it plays."""

    async def feed_text(self, text: str):
        tts = await self.tts()
        audio = await asyncio.to_thread(tts.synthesize, text)
        if audio.size:
            yield text, audio
