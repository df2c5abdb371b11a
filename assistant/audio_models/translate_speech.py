"""translate_speech: speech in another language → English text, and English speech.

Multilingual Whisper base (faster-whisper) with task="translate" writes the English directly from the
audio; the local TTS then speaks it. Naming the spoken language helps: Whisper's language detection
can be fooled by unusual voices (synthetic speech, heavy accents), and a wrong language gives a wrong
translation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import EarshotError, ModelMissing
from ..languages import language_code
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

BEAM_SIZE = 5  # translation quality needs the beam; greedy decoding loops and drops words


@dataclass
class Args:
    file: Artifact
    language: str = field(
        default="auto",
        metadata={
            "max_length": 16,
            "normalize": language_code,
            "doc": 'ISO code of the language spoken in the file ("es", "fr", …; the output is '
            'always English) or "auto"',
        },
    )
    speak: bool = field(default=True, metadata={"doc": "also save the English as speech"})


SPEC = ToolSpec(
    name="translate_speech",
    doing="translating {file}",
    summary="translate speech in another language into English text and English speech",
    examples=(
        "translate voicemail.wav into English",
        "what does this Spanish recording say in English?",
        "translate the French interview and read it out in English",
    ),
    method="Whisper base (learned, multilingual, task=translate) + the local TTS",
    licence="MIT (Whisper) / Apache-2.0 (hibari)",
    timeout_s=1200,
    max_memory_mb=3072,
)


def translate(ctx: ToolContext, audio_16k: np.ndarray, language: str):
    """(english text, source language, its probability) with whisper-base."""
    from ..runtime.asr import MULTILINGUAL, get_recognizer

    if not ctx.models.installed(MULTILINGUAL):
        raise ModelMissing(
            f"translation needs the multilingual model {MULTILINGUAL}", "run `earshot models install --asr base`"
        )
    model = get_recognizer(ctx.models, MULTILINGUAL)
    language = (language or "auto").strip().lower()
    probability = 1.0
    if language == "auto":
        language, probability = model.detect_language(audio_16k)
    # Straight to faster-whisper for temperature=0 only: its default falls back to sampling at higher
    # temperatures when a beam looks repetitive, which makes the same file translate differently twice.
    segments, _ = model.model.transcribe(
        np.ascontiguousarray(audio_16k, dtype=np.float32),
        language=language,
        task="transcribe" if language == "en" else "translate",
        beam_size=BEAM_SIZE,
        temperature=0.0,
        condition_on_previous_text=False,
    )
    text = " ".join(seg.text.strip() for seg in segments).strip()
    return text, language, probability


def run(args: Args, ctx: ToolContext) -> ToolResult:
    from ..runtime.tts import get_tts

    require_audio(args.file, SPEC.name)
    if not re.fullmatch(r"auto|[a-z]{2,3}", args.language.strip().lower()):
        raise EarshotError(f"{args.language!r} is not a language code", 'use an ISO code such as "es" or "auto"')
    audio, _ = ctx.load_audio(args.file, sample_rate_hz=16_000)
    ctx.progress(0.1, "translating")
    asked = args.language.strip().lower()
    # English is what comes out, not what goes in: "en" here is a planner naming the target language,
    # so the spoken language is detected instead (English speech is then simply transcribed).
    english, language, probability = translate(ctx, audio, "auto" if asked == "en" else asked)
    if not english:
        return ToolResult(f"No speech found in {args.file.name}.", [], {"text": "", "language": language})
    stem = stem_of(args.file)
    text_art = ctx.new_file_artifact(
        english + "\n",
        f"{stem}-english",
        ".txt",
        "text",
        parents=[args.file],
        meta={"source_language": language, "model": "whisper-base"},
    )
    artifacts = [text_art]
    if args.speak:
        ctx.progress(0.7, "speaking the English")
        tts = get_tts(ctx.models, ctx.config.models.tts)
        speech = tts.synthesize(english)
        if speech.size:
            artifacts.append(
                ctx.new_audio_artifact(
                    speech, tts.sample_rate_hz, f"{stem}-english", parents=[args.file], meta={"text": english}
                )
            )
    shown = english if len(english) <= 240 else english[:237] + "…"
    shown = shown.replace('"', "'")  # file words stay inside one pair of quotes (llm/prompts.py)
    detected = f" (detected, p={probability:.2f})" if asked in ("auto", "en") else ""
    spoken = f", spoken → {artifacts[-1].name}" if len(artifacts) > 1 else ""
    return ToolResult(
        f'Translated {args.file.name} from "{language}"{detected} into English: "{shown}" → {text_art.name}{spoken}.',
        artifacts,
        {"text": english, "language": language, "language_probability": round(probability, 3)},
    )
