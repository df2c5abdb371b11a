"""translate_speech: espeak-ng Spanish and French sentences → English text with the key words, and
English speech that says them (checked by transcribing it back with tiny.en).

Whisper base is weak on espeak-ng's robotic French and Spanish: many sentences come back as
unrelated English (measured: 4 of 6 French and 2 of 6 Spanish candidate sentences failed), so the
sentences here are ones whose words it recognises; the failures are reported, not hidden."""

from __future__ import annotations

import re

import pytest
import soundfile as sf

from assistant.audio.files import resample
from assistant.runtime.asr import get_recognizer
from tests.conftest import add_input, espeak, require_models

pytestmark = pytest.mark.integration

CASES = [
    ("es", "La música suena muy fuerte en el estudio.", [("music",), ("studio",)]),
    ("es", "El tren llega a la estación a las ocho.", [("station",)]),
    ("fr", "J'aime beaucoup la musique et le cinéma.", [("music",), ("cinema", "movie", "movies")]),
]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


@pytest.mark.parametrize("language, sentence, key_words", CASES)
def test_translation_has_the_key_words(run_tool, session, tmp_path, model_store, language, sentence, key_words):
    require_models("whisper-base", "whisper-tiny.en", "hibari-heart")
    wav = espeak(sentence, tmp_path / "speech.wav", voice=language, speed_wpm=140)
    add_input(session, src=wav, name=f"{language}.wav")
    result = run_tool("translate_speech", file=f"{language}.wav", language=language)
    english = result.data["text"]
    print(f"MEASURED translate {language}: {sentence!r} -> {english!r}")
    for options in key_words:
        assert _words(english) & set(options), (options, english)
    assert result.data["language"] == language
    # The spoken English says the same words.
    speech, rate = sf.read(result.artifacts[1].path, dtype="float32")
    heard = get_recognizer(model_store, "whisper-tiny.en").transcribe(resample(speech, rate, 16_000)).text
    for options in key_words:
        assert _words(heard) & set(options), (options, heard)


def test_text_only_and_bad_language_code(run_tool, session, tmp_path):
    from assistant.errors import EarshotError

    require_models("whisper-base")
    wav = espeak(CASES[0][1], tmp_path / "speech.wav", voice="es", speed_wpm=140)
    add_input(session, src=wav, name="es.wav")
    result = run_tool("translate_speech", file="es.wav", language="es", speak=False)
    assert [a.kind for a in result.artifacts] == ["text"]
    assert "music" in result.artifacts[0].path.read_text().lower()
    # A language name is read as its code ("Spanish" → "es"); one Whisper does not know is refused.
    with pytest.raises(EarshotError, match="not a language Whisper knows"):
        run_tool("translate_speech", file="es.wav", language="Elvish")


def test_english_named_as_the_language_means_detect(run_tool, session, tmp_path):
    """A plan that names the target ("en") for the spoken language: the tool detects Spanish instead of
    reporting the Spanish as English."""
    require_models("whisper-base")
    wav = espeak(CASES[0][1], tmp_path / "speech.wav", voice="es", speed_wpm=140)
    add_input(session, src=wav, name="es.wav")
    result = run_tool("translate_speech", file="es.wav", language="en", speak=False)
    print(f"MEASURED translate with language=en: {result.data}")
    assert result.data["language"] == "es" and "detected" in result.summary
    assert _words(result.data["text"]) & {"music"}
