"""tts.trim_silence: the synthesised reply starts within LEAD_SILENCE_MS and keeps a sentence pause."""

import numpy as np

from assistant.runtime.tts import LEAD_SILENCE_MS, TAIL_SILENCE_MS, trim_silence

RATE = 24_000


def _first_last(audio):
    loud = np.nonzero(np.abs(audio) > 1e-3)[0]
    return loud[0] / RATE * 1000, (len(audio) - 1 - loud[-1]) / RATE * 1000


def test_leading_and_trailing_silence_are_cut_to_a_short_pause_and_the_speech_is_untouched():
    rng = np.random.default_rng(0)
    speech = (0.3 * np.sin(2 * np.pi * 220 * np.arange(RATE // 2) / RATE)).astype(np.float32)
    hiss = 1e-4 * rng.standard_normal(RATE).astype(np.float32)  # -80 dB: the model's "silence"
    audio = np.concatenate([hiss[:7200], speech, hiss[:9600]])  # 300 ms + 500 ms + 400 ms
    out = trim_silence(audio, RATE)
    lead, tail = _first_last(out)
    assert lead <= LEAD_SILENCE_MS + 10 and abs(tail - TAIL_SILENCE_MS) <= 10
    # A slice of the input (the random hiss makes its start unique) that holds all of the speech.
    start = next(k for k in range(len(audio)) if np.array_equal(audio[k : k + 64], out[:64]))
    np.testing.assert_array_equal(audio[start : start + len(out)], out)
    assert start <= 7200 and start + len(out) >= 7200 + len(speech)


def test_silence_only_and_empty_audio_are_left_alone():
    assert trim_silence(np.zeros(2400, np.float32), RATE).size == 2400
    assert trim_silence(np.zeros(0, np.float32), RATE).size == 0
