"""The pause's final transcript taken from a partial pass that already read all the speech
(voice/speculation.py `Speculator._read_all_of`): only when what the partial did not read is short and
quiet; otherwise the final pass reads the audio. A fake recogniser counts its passes; no model runs."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.audio.vad import FRAME_SAMPLES
from assistant.config import ListenOptions
from assistant.voice.speculation import Speculator

RATE = 16_000


def _voice(frames: int, level: float = 0.1) -> np.ndarray:
    t = np.arange(frames * FRAME_SAMPLES) / RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


class Recogniser:
    """Each pass is held until `release` is set, and its text says how much audio it read."""

    def __init__(self) -> None:
        self.passes: list[int] = []
        self.release = asyncio.Event()

    async def __call__(self, audio: np.ndarray, **_):
        self.passes.append(len(audio))
        await self.release.wait()
        return SimpleNamespace(text=f"read {len(audio) // FRAME_SAMPLES} frames.", elapsed_ms=1.0)


def _pause_after_partial(unread: np.ndarray, partial_done: bool) -> tuple[str, bool, list[int]]:
    """Speech, a partial pass on it, then `unread` and the pause's first silent frame: (the pause's text,
    whether it came from the partial, the lengths the recogniser read)."""

    async def main():
        rec = Recogniser()
        spec = Speculator(
            ListenOptions(),
            rec,
            plan=None,
            prefill=None,
            speaker=None,
            emit=lambda e: None,
            on_transcript=lambda text, final: None,
        )
        spec.on_onset()
        speech = _voice(20)
        spec.on_speech(speech, hearing=lambda: True, planning=False)
        if partial_done:
            rec.release.set()
            await asyncio.sleep(0.01)
        audio = np.concatenate([speech, unread, np.zeros(FRAME_SAMPLES, np.float32)])  # + the silent frame
        spec.on_pause(audio, 0.0, 0.0, planning=False, accept=lambda r: True)
        rec.release.set()
        result = await asyncio.wait_for(spec.pause.asr_task, 2)
        return result.text, spec.pause.clock.asr_from_partial, rec.passes

    return asyncio.run(main())


@pytest.mark.parametrize("partial_done", [False, True])
def test_a_partial_that_read_all_the_speech_is_the_final_transcript(partial_done):
    # one quiet frame (a word's fading tail, 30 dB under the speech) after what the partial read
    text, from_partial, passes = _pause_after_partial(_voice(1, 0.003), partial_done)
    assert from_partial and text == "read 20 frames." and passes == [20 * FRAME_SAMPLES]


@pytest.mark.parametrize(
    "unread, why",
    [
        (_voice(1, 0.05), "the frame after the partial is speech (6 dB under the rest)"),
        (_voice(3, 0.003), "more audio after the partial than final_from_partial_unread_ms"),
    ],
)
def test_otherwise_the_final_pass_reads_the_whole_utterance(unread, why):
    text, from_partial, passes = _pause_after_partial(unread, partial_done=False)
    n = 20 + len(unread) // FRAME_SAMPLES + 1
    assert not from_partial, why
    assert text == f"read {n} frames." and passes == [20 * FRAME_SAMPLES, n * FRAME_SAMPLES]


def test_it_is_off_when_the_option_is_zero():
    async def main():
        rec = Recogniser()
        rec.release.set()
        spec = Speculator(
            ListenOptions(final_from_partial_unread_ms=0), rec, None, None, None, lambda e: None, lambda t, f: None
        )
        spec.on_onset()
        spec.on_speech(_voice(20), hearing=lambda: True, planning=False)
        await asyncio.sleep(0.01)
        audio = np.concatenate([_voice(20), np.zeros(FRAME_SAMPLES, np.float32)])
        spec.on_pause(audio, 0.0, 0.0, False, lambda r: True)
        await spec.pause.asr_task
        return len(rec.passes), spec.pause.clock.asr_from_partial

    assert asyncio.run(main()) == (2, False)
