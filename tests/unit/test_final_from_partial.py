"""The pause's final transcript taken from a partial pass that already read all the speech
(voice/speculation.py `Speculator._read_all_of`): only when what the partial did not read is short and
quiet; otherwise the final pass reads the audio, and a partial still running is abandoned before its decoder.
A fake recogniser counts its passes; no model runs."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from assistant.audio.vad import FRAME_SAMPLES
from assistant.config import ListenOptions
from assistant.runtime.asr import PassAbandoned
from assistant.voice.speculation import Speculator

RATE = 16_000


def _voice(frames: int, level: float = 0.1) -> np.ndarray:
    t = np.arange(frames * FRAME_SAMPLES) / RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


class Recogniser:
    """Each pass is held until `release` is set (as if in its encoder), then asks `proceed` as the real ones do
    before decoding; its text says how much audio it read."""

    def __init__(self) -> None:
        self.passes: list[int] = []
        self.abandoned: list[int] = []
        self.release = asyncio.Event()

    async def __call__(self, audio: np.ndarray, proceed=None, **_):
        self.passes.append(len(audio))
        await self.release.wait()
        if proceed is not None and not proceed():
            self.abandoned.append(len(audio))
            raise PassAbandoned("abandoned")
        return SimpleNamespace(text=f"read {len(audio) // FRAME_SAMPLES} frames.", elapsed_ms=1.0)


def _pause_after_partial(unread: np.ndarray, partial_done: bool, heard: list[str] | None = None):
    """Speech, a partial pass on it, then `unread` and the pause's first silent frame: (the pause's text,
    whether it came from the partial, the lengths the recogniser read, those it abandoned). `heard` collects
    every transcript the speculation reported."""

    async def main():
        rec = Recogniser()
        spec = Speculator(
            ListenOptions(),
            rec,
            plan=None,
            prefill=None,
            speaker=None,
            emit=lambda e: None,
            on_transcript=lambda text, final: (heard if heard is not None else []).append(text),
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
        await asyncio.sleep(0.01)  # the partial's own task finishes
        return result.text, spec.pause.clock.asr_from_partial, rec.passes, rec.abandoned

    return asyncio.run(main())


@pytest.mark.parametrize("partial_done", [False, True])
def test_a_partial_that_read_all_the_speech_is_the_final_transcript(partial_done):
    # one quiet frame (a word's fading tail, 30 dB under the speech) after what the partial read
    text, from_partial, passes, abandoned = _pause_after_partial(_voice(1, 0.003), partial_done)
    assert from_partial and text == "read 20 frames." and passes == [20 * FRAME_SAMPLES]
    assert abandoned == []


@pytest.mark.parametrize(
    "unread, why",
    [
        (_voice(1, 0.05), "the frame after the partial is speech (6 dB under the rest)"),
        (_voice(3, 0.003), "more audio after the partial than final_from_partial_unread_ms"),
    ],
)
def test_otherwise_the_final_pass_reads_the_whole_utterance(unread, why):
    heard: list[str] = []
    text, from_partial, passes, abandoned = _pause_after_partial(unread, partial_done=False, heard=heard)
    n = 20 + len(unread) // FRAME_SAMPLES + 1
    assert not from_partial, why
    assert text == f"read {n} frames." and passes == [20 * FRAME_SAMPLES, n * FRAME_SAMPLES]
    # ...and the partial still running is abandoned before its decoder: the final pass does not wait for it, and
    # it reports no transcript (an empty one would count as the user's words over a reply)
    assert abandoned == [20 * FRAME_SAMPLES] and heard == [f"read {n} frames."]


def test_a_partial_already_done_is_not_abandoned():
    text, from_partial, passes, abandoned = _pause_after_partial(_voice(3, 0.05), partial_done=True)
    assert not from_partial and abandoned == [] and len(passes) == 2


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


class ThreadRecogniser(Recogniser):
    """As the real pass runs: in a thread, which cancelling the awaiting task does not stop."""

    def __init__(self) -> None:
        super().__init__()
        self.go = threading.Event()

    async def __call__(self, audio: np.ndarray, proceed=None, **_):
        def run():
            self.passes.append(len(audio))
            self.go.wait(2)
            if proceed is not None and not proceed():
                self.abandoned.append(len(audio))
                raise PassAbandoned("abandoned")
            return SimpleNamespace(text="words.", elapsed_ms=1.0)

        return await asyncio.to_thread(run)


def test_speech_again_abandons_the_pause_pass():
    """The user kept talking: the pause's pass, still in its encoder, stops there and reports nothing."""

    async def main():
        rec, heard = ThreadRecogniser(), []
        spec = Speculator(
            ListenOptions(final_from_partial_unread_ms=0), rec, None, None, None, lambda e: None, heard.append
        )
        spec.on_onset()
        audio = np.concatenate([_voice(20), np.zeros(FRAME_SAMPLES, np.float32)])
        spec.on_pause(audio, 0.0, 0.0, False, lambda r: True)
        pause = spec.pause
        await asyncio.sleep(0.01)
        spec.on_resume()
        rec.go.set()
        await asyncio.sleep(0.05)
        return rec.abandoned, pause.asr_task.cancelled(), heard

    assert asyncio.run(main()) == ([21 * FRAME_SAMPLES], True, [])
