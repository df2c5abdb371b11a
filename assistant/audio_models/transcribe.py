"""transcribe: speech → text with timestamps (Whisper via faster-whisper)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..languages import language_code
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of


@dataclass
class Args:
    file: Artifact
    language: str = field(
        default="auto",
        metadata={
            "max_length": 16,
            "normalize": language_code,
            "doc": 'ISO code of the spoken language ("en", "es", …) or "auto" to detect it',
        },
    )
    word_timestamps: bool = field(default=False, metadata={"doc": "also time every word"})


SPEC = ToolSpec(
    name="transcribe",
    doing="writing down what {file} says",
    summary="write down the words spoken in a file (speech to text, timestamps)",
    examples=("transcribe interview.wav", "what is being said in @a2?", "write down the words in memo.wav"),
    method="Whisper tiny.en / base via faster-whisper (learned)",
    licence="MIT",
    timeout_s=900,
    max_memory_mb=2048,
)


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m):02d}:{s:05.2f}"


def run(args: Args, ctx: ToolContext) -> ToolResult:
    from ..runtime.asr import transcribe_any

    require_audio(args.file, SPEC.name)
    audio, _ = ctx.load_audio(args.file, sample_rate_hz=16_000)
    ctx.progress(0.1, "transcribing")
    result = transcribe_any(
        ctx.models, ctx.config.models.asr, audio, language=args.language, word_timestamps=args.word_timestamps
    )
    ctx.progress(0.9, "writing the transcript")
    lines = [f"[{_clock(s.start_s)} → {_clock(s.end_s)}] {s.text}" for s in result.segments]
    body = result.text + "\n\n" + "\n".join(lines) + "\n" if lines else "(no speech found)\n"
    out = ctx.new_file_artifact(
        body,
        f"{stem_of(args.file)}-transcript",
        ".txt",
        "text",
        parents=[args.file],
        meta={"language": result.language, "model": result.model},
    )
    segments = [
        {
            "start_s": s.start_s,
            "end_s": s.end_s,
            "text": s.text,
            **({"words": [w.__dict__ for w in s.words]} if args.word_timestamps else {}),
        }
        for s in result.segments
    ]
    shown = result.text if len(result.text) <= 240 else result.text[:237] + "…"
    shown = shown.replace('"', "'")  # file words stay inside one pair of quotes (llm/prompts.py FILE_TEXT)
    summary = (
        f'Transcribed {args.file.name} ({result.language}): "{shown}"'
        if result.text
        else f"No speech found in {args.file.name}."
    )
    return ToolResult(
        summary,
        [out],
        {
            "text": result.text,
            "language": result.language,
            "language_probability": result.language_probability,
            "segments": segments,
            "model": result.model,
        },
    )
