"""compose: text → music. The planner's language model writes a short piece in a compact score format
that a grammar constrains (music/score.py describes it), the score becomes MIDI (pretty_midi), and
fluidsynth renders it with the General MIDI soundfont. The key, tempo and bar count the user asked for
are fixed by the tool, never left to the model.
"""

from __future__ import annotations

import io
import re
import zlib
from dataclasses import dataclass, field

from ..errors import EarshotError
from ..music.score import (
    DEFAULT_BARS,
    RENDER_RATE_HZ,
    TOKENS_PER_BAR,
    key_name,
    parse_key,
    parse_score,
    render,
    request_constraints,
    score_grammar,
    score_to_midi,
)
from .base import ToolContext, ToolResult, ToolSpec


@dataclass
class Args:
    description: str = field(metadata={"max_length": 160, "doc": "what to compose, in the user's words"})
    key: str = field(
        default="",
        metadata={
            "max_length": 12,
            "doc": 'key the user asked for, e.g. "D minor", "F# major"; "" lets the model choose',
        },
    )
    tempo_bpm: int = field(
        default=0, metadata={"min": 0, "max": 220, "doc": "tempo the user asked for; 0 lets the model choose"}
    )
    bars: int = field(default=0, metadata={"min": 0, "max": 32, "doc": "number of 4/4 bars; 0 means 8"})


SPEC = ToolSpec(
    name="compose",
    doing="composing {description}",
    summary="compose music from a description (key, tempo, bars, instruments) into MIDI and audio",
    examples=(
        "compose a calm piano loop in D minor, 80 BPM, 8 bars",
        "write an upbeat pop tune with drums",
        "make a 16-bar jazzy electric piano piece at 100 BPM",
    ),
    method="the planner LLM (learned) writes a grammar-constrained score → MIDI (pretty_midi) → fluidsynth with "
    "the FluidR3 General MIDI soundfont",
    licence="Apache-2.0 (Qwen2.5 weights) / MIT (pretty_midi, FluidR3_GM) / LGPL-2.1 (fluidsynth)",
    timeout_s=300,
    max_memory_mb=1024,
)


# -- the model writes the score ------------------------------------------------------------------------
SYSTEM = """You compose short pieces of music in a compact score format.
Header lines pick instruments and accompaniment. Then one line per 4/4 bar: "N: CHORD | NOTES".
CHORD is a roman numeral scale degree (I II III IV V VI VII). NOTES are melody notes: a scale degree 1-7 \
(add ' for an octave up, , for an octave down, r for a rest), a colon and a length in eighth notes \
(1, 2, 3, 4, 6, 8); each bar adds up to 8 with at most 5 notes. Write your own singable melody for the request: mostly steps, \
chord notes on strong beats, a motif that returns, varied chords (e.g. I VI IV V, I IV V I, VI IV I V), \
ending on 1. Pick instruments, style, bass and drums that fit the description.
The format, for a 2-bar sketch (not a melody to reuse):
lead: oboe
chords: harp
style: pulse
bass: none
drums: none
1: I | 5:3 3:1 1:4
2: I | 2:1 3:1 2:2 1:4"""


def write_score(
    ctx: ToolContext, description: str, bars: int, key: tuple[int, str] | None, tempo_bpm: int | None
) -> tuple[str, dict]:
    llm = ctx.llm()
    grammar = llm.compile_grammar(
        score_grammar(bars, key is not None, tempo_bpm is not None, request_constraints(description))
    )
    facts = [f"{bars} bars"]
    if key is not None:
        facts.append(f"key {key_name(*key)}")
    if tempo_bpm is not None:
        facts.append(f"{tempo_bpm} BPM")
    user = f"Compose: {description}\nFixed: {', '.join(facts)}."
    prompt = llm.render_chat([{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}])
    # Sampled, not greedy: greedy decoding of a 1.5B model repeats one note for ever. The seed comes from
    # the request, so the same request gives the same piece (and tests are reproducible).
    seed = zlib.crc32(user.encode("utf-8")) & 0x7FFFFFFF
    done = llm.complete(
        prompt,
        grammar,
        max_tokens=120 + TOKENS_PER_BAR * bars,
        sampling={"temperature": 0.8, "top_k": 40, "top_p": 0.95, "repeat_penalty": 1.1, "seed": seed},
    )
    return done.text, {"completion_tokens": done.completion_tokens, "elapsed_ms": round(done.elapsed_ms)}


def run(args: Args, ctx: ToolContext) -> ToolResult:
    description = args.description.strip()
    if not description:
        raise EarshotError("compose needs a description", 'say what to compose, e.g. "a calm piano loop"')
    key = parse_key(args.key) if args.key.strip() else None
    tempo = args.tempo_bpm or None
    if tempo is not None and tempo < 30:
        raise EarshotError(f"{tempo} BPM is too slow to compose at", "ask for 30 BPM or more")
    bars = args.bars or DEFAULT_BARS
    ctx.progress(0.05, "writing the score")
    text, usage = write_score(ctx, description, bars, key, tempo)
    score = parse_score(text, key[0] if key else None, key[1] if key else None, tempo)
    if len(score.bars) != bars:
        raise EarshotError(f"the model wrote {len(score.bars)} bars instead of {bars}", "ask again")
    ctx.progress(0.6, "rendering")
    pm = score_to_midi(score)
    buf = io.BytesIO()
    pm.write(buf)
    midi_bytes = buf.getvalue()
    audio = render(midi_bytes)
    ctx.progress(0.95, "saving")
    slug = re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-")[:32] or "composition"
    meta = {
        "key": key_name(score.key_pc, score.mode),
        "tempo_bpm": score.tempo_bpm,
        "bars": bars,
        "lead": score.lead,
        "chords": score.chords,
        "style": score.style,
        "bass": score.bass,
        "drums": score.drums,
    }
    wav = ctx.new_audio_artifact(audio, RENDER_RATE_HZ, slug, meta=meta)
    mid = ctx.new_file_artifact(midi_bytes, slug, ".mid", "midi", parents=[wav], meta=meta)
    score_file = ctx.new_file_artifact(
        text.strip() + "\n",
        f"{slug}-score",
        ".txt",
        "text",
        parents=[mid],
        meta={"format": "earshot compact score", **usage},
    )
    ctx.progress(1.0, "done")
    parts = [score.lead] + ([score.chords] if score.chords != score.lead else [])
    extras = [
        f"{score.bass} bass" if score.bass != "none" else "",
        f"{score.drums} drums" if score.drums != "none" else "",
    ]
    summary = (
        f"Composed {bars} bars in {meta['key']} at {score.tempo_bpm} BPM ({', '.join(parts)}, "
        f"{score.style} chords{''.join(', ' + e for e in extras if e)}) → {wav.name} "
        f"({wav.duration_s:.1f} s) and {mid.name}; the notes were written by the language model and "
        "rendered with the General MIDI soundfont."
    )
    return ToolResult(summary, [wav, mid, score_file], {**meta, "score": text.strip()})
