"""The voice loop's short Whisper pass (runtime/asr.py `transcribe_short`) abandoned between its encoder and its
decoder: asked once, after the encoder; False stops it with PassAbandoned, True decodes the same words as a pass
that is never asked."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.bench.asr_bench import word_errors
from assistant.bench.speech_set import speak
from tests.conftest import REAL_MODELS_DIR, require_models

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def models():
    from assistant.config import PathOptions
    from assistant.runtime.asr import get_recognizer
    from assistant.runtime.models import ModelStore
    from assistant.runtime.tts import get_tts

    require_models("whisper-tiny.en", "hibari-heart")
    store = ModelStore(PathOptions(models_dir=REAL_MODELS_DIR))
    return get_recognizer(store, "whisper-tiny.en"), get_tts(store)


def test_a_pass_asked_to_go_on_decodes_as_one_never_asked(models):
    recognizer, tts = models
    asked: list[int] = []
    audio = np.concatenate([np.zeros(5120, np.float32), speak("Remove the noise from memo dot wav.", "hibari", 2, tts)])
    plain = recognizer.transcribe_short(audio)
    going_on = recognizer.transcribe_short(audio, proceed=lambda: asked.append(1) or True)
    assert asked == [1]
    assert going_on.text == plain.text and going_on.avg_logprob == pytest.approx(plain.avg_logprob, abs=1e-6)
    errors, words = word_errors("Remove the noise from memo dot wav.", plain.text)
    assert errors / words <= 0.15, plain.text


def test_a_pass_told_to_stop_stops_before_its_decoder(models):
    from assistant.runtime.asr import PassAbandoned

    recognizer, tts = models
    audio = np.concatenate([np.zeros(5120, np.float32), speak("Undo that.", "hibari", 14, tts)])
    asked: list[int] = []
    with pytest.raises(PassAbandoned):
        recognizer.transcribe_short(audio, proceed=lambda: asked.append(1) or False)
    assert asked == [1]
    assert recognizer.transcribe_short(audio).text.strip(" .").lower() == "undo that"  # the model is still usable
