"""The final transcript from the tail (voice/tail.py): the partial's words joined to the tail's on the words both
heard, or the whole utterance again when they do not meet. A fake recogniser reads word tags out of the audio."""

from __future__ import annotations

import numpy as np

from assistant.runtime.asr import ShortResult
from assistant.voice.tail import TailTranscriber, join_on_overlap

RATE = 16_000
WORD_S = 0.3
WORDS = "remove the noise from memo dot wav please".split()


def spoken(words: list[str]) -> np.ndarray:
    """Each word is WORD_S of samples carrying its index + 1 (so a cut keeps which words it holds)."""
    return np.concatenate([np.full(int(WORD_S * RATE), (i + 1) / 100, np.float32) for i in range(len(words))])


class TagRecognizer:
    """Hears the words whose tags fill at least half a word's length of the audio it is given."""

    def __init__(self, words: list[str], mishear: dict[str, str] | None = None) -> None:
        self.words = words
        self.mishear = mishear or {}
        self.lengths: list[int] = []

    def transcribe_short(self, audio, *, min_window_s=6.0, hotwords=None) -> ShortResult:
        self.lengths.append(len(audio))
        tags, counts = np.unique(np.round(audio * 100).astype(int), return_counts=True)
        heard = [self.words[t - 1] for t, n in zip(tags, counts) if t > 0 and n >= WORD_S * RATE / 2]
        text = " ".join(self.mishear.get(w, w) for w in heard)
        return ShortResult(text, 0.0, -0.1, len(audio) / RATE, 1.0)


def test_join_keeps_the_partial_and_appends_what_follows_the_shared_words():
    assert join_on_overlap("Remove the noise from me", "noise from memo.wav.") == "Remove the noise from memo.wav."
    assert join_on_overlap("What can you", "Can you do?") == "What can you do?"  # case and punctuation aside
    assert join_on_overlap("Remove the noise from", "the weather report") is None  # nothing shared
    assert join_on_overlap("Hello", "hello there") is None  # one word: it may be cut, nothing is kept


def test_the_final_pass_reads_only_the_tail_and_gives_the_whole_request():
    audio = spoken(WORDS)
    rec = TagRecognizer(WORDS)
    tail = TailTranscriber(rec.transcribe_short, overlap_s=0.8)
    known_samples = int(5.4 * WORD_S * RATE)  # the last partial ended early in "dot"
    partial = rec.transcribe_short(audio[:known_samples]).text
    assert partial == "remove the noise from memo"
    result = tail(audio, known_text=partial, known_samples=known_samples)
    assert result.text == " ".join(WORDS)
    assert rec.lengths[-1] == len(audio) - (known_samples - int(0.8 * RATE))  # only the tail, from the overlap
    assert (tail.joined, tail.fell_back) == (1, 0)
    assert result.duration_s == round(len(audio) / RATE, 3)


def test_when_the_tail_does_not_meet_the_partial_the_whole_utterance_is_transcribed():
    audio = spoken(WORDS)
    rec = TagRecognizer(WORDS, mishear={"from": "for", "memo": "mama"})  # the tail hears the shared words otherwise
    tail = TailTranscriber(rec.transcribe_short, overlap_s=0.8)
    known_samples = int(5.4 * WORD_S * RATE)
    result = tail(audio, known_text="remove the noise from memo", known_samples=known_samples)
    assert rec.lengths[-1] == len(audio)  # the fallback read everything
    assert result.text == rec.transcribe_short(audio).text
    assert (tail.joined, tail.fell_back) == (0, 1)
    # No partial at all: one ordinary pass.
    assert tail(audio).text == rec.transcribe_short(audio).text


def test_the_loop_makes_the_final_pass_from_the_tail_when_asked(config, session):
    """With `final_asr_from_tail`, the pause's pass reads the audio after the last partial (from the overlap)
    and the turn still gets the whole request."""
    import asyncio

    from assistant.events import SpeechEnded, TurnStarted
    from tests.fixtures.voice import make_rig, silence, speech
    from tests.unit.test_voice_loop import run

    config.voice.listen.final_asr_from_tail = True
    config.voice.listen.final_from_partial_unread_ms = 0  # a partial that read it all would need no final pass
    text = "Make it three decibels louder, please."
    rig = make_rig(config, session, {1: text}, speak=False)
    lengths: list[int] = []
    hear = rig.recognizer.transcribe_short
    rig.recognizer.transcribe_short = lambda audio, **kw: (lengths.append(len(audio)), hear(audio, **kw))[1]

    async def scenario(rig):
        for _ in range(4):  # 1.9 s, as a microphone delivers it: partials every 0.48 s while it is spoken
            rig.source.push(speech(15, 1))
            await rig.until(rig.heard_all)
            await asyncio.sleep(0.05)
        rig.source.push(silence(1))  # the first silent frame: the final pass starts
        await rig.until(lambda: rig.loop.speculator.pause is not None and rig.loop.speculator.pause.text is not None)
        rig.source.push(silence(7))
        await rig.until(lambda: rig.of(SpeechEnded))
        await rig.idle()

    run(rig, scenario)
    (ended,) = rig.of(SpeechEnded)
    assert [t.text for t in rig.of(TurnStarted)] == [text]
    assert len(lengths) >= 2  # partials, then the pause's pass
    assert lengths[-1] < max(lengths[:-1]) < ended.duration_s * RATE  # the final pass read only a tail
