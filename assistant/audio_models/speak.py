"""speak: text → speech, saved as a WAV file: hibari's "heart" voice (24 kHz) or, with the optional
`piper` extra, a Piper voice the user installed and named in config.toml ([models] piper_voice)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from .base import ToolContext, ToolResult, ToolSpec


@dataclass
class Args:
    text: str = field(metadata={"max_length": 500, "doc": "what to say, or \"$1\" for a text an earlier step made"})
    voice: Literal["heart", "piper"] = field(
        default="heart",
        metadata={"doc": "heart: a woman's voice (hibari); piper: the Piper voice set up in config.toml (optional)"},
    )
    speed: float = field(default=1.0, metadata={"min": 0.5, "max": 2.0, "doc": "1 is natural pace; 2 twice as fast"})


SPEC = ToolSpec(
    name="speak",
    doing="recording the voice",
    summary="record a voice saying a given text, saved as WAV (never used to reply)",
    examples=(
        "say hello world and save it",
        "read this aloud: the session starts at noon",
        "make a voice recording that says welcome",
    ),
    method="hibari TTS, or a Piper voice you install yourself (learned, ONNX)",
    licence="Apache-2.0 (hibari) / GPL-3.0 (piper-tts)",
    timeout_s=120,
    max_memory_mb=1024,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    from ..errors import EarshotError
    from ..runtime.tts import get_tts

    text = args.text.strip()
    if not text:
        raise EarshotError("there is no text to speak", "say what the recording should say")
    tts = get_tts(ctx.models, ctx.config.models.tts, args.voice, ctx.config.models.piper_voice)
    ctx.progress(0.1, "synthesising")
    audio = tts.synthesize(text, speed=args.speed)
    if audio.size == 0:
        raise EarshotError("the text produced no speech (nothing pronounceable in it)", "use words, not symbols")
    words = re.findall(r"[A-Za-z0-9']+", text.lower())[:4]
    out = ctx.new_audio_artifact(
        audio,
        tts.sample_rate_hz,
        "speech-" + "-".join(words or ["text"]),
        meta={"text": text, "voice": args.voice, "speed": args.speed},
    )
    shown = text if len(text) <= 80 else text[:77] + "…"
    engine = "Piper" if args.voice == "piper" else "hibari"
    pace = f", {args.speed:g}× speed" if args.speed != 1.0 else ""
    return ToolResult(
        f'Spoke "{shown}" in the {args.voice} voice ({engine}{pace}, {out.duration_s:.1f} s).',
        [out],
        {"text": text, "voice": args.voice, "duration_s": out.duration_s},
    )
