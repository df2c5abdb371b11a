"""The voice loop's own Whisper (runtime/asr.py `get_stream_recognizer`): two passes at once — a partial
transcript still running when the pause's final pass starts — each transcribed as well as alone, on a
model of its own (not the one a `transcribe` tool reads a long file with)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from assistant.bench.asr_bench import word_errors
from assistant.bench.speech_set import speak
from tests.conftest import REAL_MODELS_DIR, require_models

pytestmark = pytest.mark.integration

REQUESTS = ("Remove the noise from memo dot wav.", "Set the tempo to ninety BPM.")


@pytest.fixture(scope="module")
def models():
    from assistant.config import PathOptions
    from assistant.runtime.asr import get_recognizer, get_stream_recognizer
    from assistant.runtime.models import ModelStore
    from assistant.runtime.tts import get_tts

    require_models("whisper-tiny.en", "hibari-heart")
    store = ModelStore(PathOptions(models_dir=REAL_MODELS_DIR))
    tts = get_tts(store)
    speech = [np.concatenate([np.zeros(5120, np.float32), speak(t, "hibari", i, tts)]) for i, t in enumerate(REQUESTS)]
    return get_stream_recognizer(store, "whisper-tiny.en"), get_recognizer(store, "whisper-tiny.en"), speech


def test_two_passes_at_once_transcribe_like_one(models):
    stream, shared, speech = models
    assert stream is not shared and stream.model.model.num_workers == 2
    alone = [stream.transcribe_short(a).text for a in speech]
    together: dict[int, str] = {}
    threads = [
        threading.Thread(target=lambda i=i: together.__setitem__(i, stream.transcribe_short(speech[i]).text))
        for i in range(len(speech))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [together[i] for i in range(len(speech))] == alone
    errors = sum(word_errors(ref, hyp)[0] for ref, hyp in zip(REQUESTS, alone, strict=True))
    assert errors <= 1
