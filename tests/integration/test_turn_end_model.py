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


def test_finished_requests_sound_finished_and_broken_off_ones_do_not(models):
    """Every finished request sounds finished; nearly every cut at a word boundary does not. Which cuts the
    model misjudges depends on the CPU (hibari's audio and Whisper's word times differ in the last bits from
    one instruction set to another: on an AMD EPYC "mute the" scored 0.83, on a Xeon below 0.3), so single
    cuts are not asserted; a model that could not tell the two apart fails all of these."""
    model, recognizer, tts = models
    broken_off: list[tuple[str, float]] = []
    for i, text in REQUESTS:
        audio = speak(text, "hibari", i, tts)
        cuts = word_cuts(audio, recognizer)
        assert cuts, f"Whisper found no word boundary to break {text!r} at"
        finished = model.probability(as_the_loop_hears_it(audio))
        assert finished.probability >= 0.8, f"{text!r} did not sound finished ({finished.probability})"
        assert finished.cpu_ms > 0 and finished.elapsed_ms > 0
        for cut, words in cuts:
            broken_off.append((words, model.probability(as_the_loop_hears_it(audio[:cut])).probability))
    unfinished = [p for _, p in broken_off if p <= 0.3]
    misjudged = [(w, p) for w, p in broken_off if p > 0.3]
    # 8 cuts: on the Xeon all 8 scored ≤ 0.3, on an AMD EPYC 6 (0.32 and 0.83 the two others).
    assert len(unfinished) >= 0.75 * len(broken_off), f"sounded finished: {misjudged}"
    assert float(np.median([p for _, p in broken_off])) <= 0.2, broken_off  # 0.12 on the EPYC
