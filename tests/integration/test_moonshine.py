"""Moonshine base (runtime/moonshine.py) behind the voice loop's recogniser interface: real speech in, the
words out, nothing out of silence; the ORT-format files converted in memory give the same transcript as
the files run as shipped."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.bench.asr_bench import word_errors
from assistant.bench.speech_set import speak
from tests.conftest import REAL_MODELS_DIR, require_models

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moonshine():
    pytest.importorskip("onnx", reason="Moonshine needs the moonshine extra (pip install 'earshot[moonshine]')")
    from assistant.config import PathOptions
    from assistant.runtime.models import ModelStore
    from assistant.runtime.moonshine import get_moonshine
    from assistant.runtime.tts import get_tts

    require_models("moonshine-base-en", "hibari-heart")
    store = ModelStore(PathOptions(models_dir=REAL_MODELS_DIR))
    return get_moonshine(store), get_tts(store), store


def test_moonshine_transcribes_spoken_requests(moonshine):
    rec, tts, _ = moonshine
    errors = words = 0
    for i, text in enumerate(
        ("What can you do?", "Remove the noise from memo dot wav.", "Set the tempo to ninety BPM.")
    ):
        audio = np.concatenate([np.zeros(5120, np.float32), speak(text, "hibari", i, tts)])
        result = rec.transcribe_short(audio, min_window_s=6.0, hotwords=None)
        e, n = word_errors(text, result.text)
        errors, words = errors + e, words + n
        assert result.duration_s == pytest.approx(len(audio) / 16000, abs=1e-3)
        assert result.language == "en" and result.avg_logprob < 0 and result.elapsed_ms > 0
    assert errors / words <= 0.1


def test_a_pass_told_to_stop_stops_before_its_decoder(moonshine):
    from assistant.runtime.asr import PassAbandoned

    rec, tts, _ = moonshine
    audio = np.concatenate([np.zeros(5120, np.float32), speak("Undo that.", "hibari", 14, tts)])
    asked: list[int] = []
    with pytest.raises(PassAbandoned):
        rec.transcribe_short(audio, proceed=lambda: asked.append(1) or False)
    going_on = rec.transcribe_short(audio, proceed=lambda: asked.append(1) or True)
    assert asked == [1, 1] and going_on.text == rec.transcribe_short(audio).text


def test_silence_gives_no_words(moonshine):
    rec, _, _ = moonshine
    assert rec.transcribe_short(np.zeros(16000, np.float32)).text == ""
    assert rec.transcribe_short(np.zeros(200, np.float32)).text == ""  # shorter than the encoder's receptive field


def test_the_converted_graph_decodes_like_the_shipped_one(moonshine):
    """The in-memory re-serialisation changes speed, not results: the shipped .ort decoder gives the same
    first-step logits."""
    import onnxruntime as ort

    rec, tts, store = moonshine
    audio = speak("Mute the drums track.", "hibari", 3, tts)
    hidden = rec.encoder.run(None, {"input_values": audio[None]})[0]
    feeds = {"input_ids": np.array([[1]], np.int64), "encoder_hidden_states": hidden, "use_cache_branch": [False]}
    empty = np.zeros((1, rec._heads, 0, rec._head_dim), np.float32)
    feeds.update({n: empty for n in rec._past})
    feeds["use_cache_branch"] = np.array([False])
    shipped = ort.InferenceSession(str(store.path("moonshine-base-en") / "decoder_model_merged.ort"))
    expected = shipped.run(["logits"], feeds)[0]
    got = rec.decoder.run(["logits"], feeds)[0]
    assert np.max(np.abs(expected - got)) < 1e-3 * max(1.0, float(np.max(np.abs(expected))))
