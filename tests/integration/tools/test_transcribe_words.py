"""transcribe keeps its language and word-timestamp options: the words of a sentence placed at a known
time are timed to it, in order, and join up to the text; a named language is transcribed as that
language."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.conftest import add_input, espeak, require_models

pytestmark = pytest.mark.integration


def _speech_span_s(x: np.ndarray, rate: int) -> tuple[float, float]:
    level = np.abs(x)
    loud = np.nonzero(level > 0.01 * level.max())[0]
    return loud[0] / rate, loud[-1] / rate


def test_word_timestamps_follow_the_speech(run_tool, session, model_store):
    require_models("hibari-heart", "whisper-tiny.en")
    from assistant.runtime.tts import get_tts

    tts = get_tts(model_store)
    rate = tts.sample_rate_hz
    first, second = tts.synthesize("Welcome to the studio."), tts.synthesize("The drums sound great today.")
    lead, gap = 0.7, 1.6
    x = np.concatenate(
        [np.zeros(int(lead * rate)), first, np.zeros(int(gap * rate)), second, np.zeros(int(0.5 * rate))]
    ).astype(np.float32)
    first_end = lead + _speech_span_s(first, rate)[1]
    offset = lead + len(first) / rate + gap
    on, off = (offset + t for t in _speech_span_s(second, rate))
    add_input(session, x, rate, name="two.wav")
    result = run_tool("transcribe", file="two.wav", language="en", word_timestamps=True)
    words = [w for seg in result.data["segments"] for w in seg["words"]]
    assert words, "no word timestamps"
    starts = [w["start_s"] for w in words]
    assert starts == sorted(starts) and all(w["end_s"] >= w["start_s"] for w in words)
    joined = re.sub(r"\W+", " ", " ".join(w["word"] for w in words)).strip().lower()
    assert joined == re.sub(r"\W+", " ", result.data["text"]).strip().lower()
    # The second sentence, after a 1.6 s pause: its words sit on it, and none starts before the first
    # sentence's speech has ended. (tiny.en stretches the first sentence's words into the pause, so
    # the words are split at "studio", not by time.)
    tokens = [re.sub(r"\W", "", w["word"]).lower() for w in words]
    second_words = words[tokens.index("studio") + 1 :]
    assert [re.sub(r"\W", "", w["word"]).lower() for w in second_words][:1] == ["the"]
    assert all(w["start_s"] >= first_end for w in second_words)
    print(
        f"MEASURED word timestamps: first word at {second_words[0]['start_s']:.2f} s (speech {on:.2f} s), "
        f"last word ends {second_words[-1]['end_s']:.2f} s (speech {off:.2f} s)"
    )
    assert second_words[0]["start_s"] == pytest.approx(on, abs=0.15)
    assert second_words[-1]["end_s"] == pytest.approx(off, abs=0.35)
    assert len(second_words) >= 4


def test_named_language_is_transcribed_in_that_language(run_tool, session, tmp_path):
    require_models("whisper-base")
    wav = espeak("La música suena muy fuerte en el estudio.", tmp_path / "es.wav", voice="es", speed_wpm=140)
    add_input(session, src=wav, name="es.wav")
    result = run_tool("transcribe", file="es.wav", language="es")
    assert result.data["language"] == "es"
    text = result.data["text"].lower()
    print(f"MEASURED transcribe es: {text!r}")
    assert "música" in text and "estudio" in text
