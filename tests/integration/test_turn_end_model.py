"""Smart Turn v3.2 (runtime/turn_end.py) on real speech: finished requests sound finished, the same requests
broken off at a word boundary do not — with margins, on requests where the bench (`earshot bench turn-end`)
finds the model sure of itself. Its overall accuracy, mistakes included, is the bench's to report."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.bench.speech_set import speak, word_cuts
from tests.conftest import REAL_MODELS_DIR, require_models

pytestmark = pytest.mark.integration

# (the request's index in bench/latency_sets.py COMMANDS, which sets hibari's speed and seed as the bench does)
REQUESTS = (
    (1, "Make memo dot wav three decibels louder."),
    (7, "Find the silences in memo dot wav."),
    (10, "Put loop dot wav on a new track called drums."),
    (15, "Mute the drums track."),
)


@pytest.fixture(scope="module")
def models():
    from assistant.config import PathOptions
    from assistant.runtime.asr import get_recognizer
    from assistant.runtime.models import ModelStore
    from assistant.runtime.tts import get_tts
    from assistant.runtime.turn_end import get_turn_end_model

    require_models("smart-turn-v3.2", "whisper-tiny.en", "hibari-heart")
    store = ModelStore(PathOptions(models_dir=REAL_MODELS_DIR))
    return get_turn_end_model(store), get_recognizer(store, "whisper-tiny.en"), get_tts(store)


def as_the_loop_hears_it(speech: np.ndarray) -> np.ndarray:
    """The segmenter's audio at a pause: the 320 ms pre-roll, the speech, ~100 ms of silence after it."""
    return np.concatenate([np.zeros(5120, np.float32), speech, np.zeros(1600, np.float32)])


@pytest.mark.parametrize("i, text", REQUESTS)
def test_a_finished_request_sounds_finished_and_a_broken_off_one_does_not(models, i, text):
    model, recognizer, tts = models
    audio = speak(text, "hibari", i, tts)
    cuts = word_cuts(audio, recognizer)
    assert cuts, "Whisper found no word boundary to break the request at"
    finished = model.probability(as_the_loop_hears_it(audio))
    assert finished.probability >= 0.8
    for cut, words in cuts:
        broken = model.probability(as_the_loop_hears_it(audio[:cut]))
        assert broken.probability <= 0.3, f"{words!r} sounded finished ({broken.probability})"
    assert finished.cpu_ms > 0 and finished.elapsed_ms > 0
