"""find: search the sample library (`earshot library add DIR`) by what its analysis found.

The found files become artifacts of the session that point at the library files themselves (never
copies; the library stays read-only), best match first, so "play the second one" or "put it on the
drums track" work on them. The analysis behind the index: tag and detect (signal processing, with the
Silero voice-activity model), Whisper tiny.en for the words; "similar to" ranks by a descriptor vector
(MFCC, chroma and spectral statistics — signal processing, not a learned embedding).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..errors import EarshotError
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec

Instrument = Literal["any", "drums", "bass", "piano", "guitar", "organ", "strings", "pad", "voice", "singing"]
Content = Literal["any", "speech", "music", "ambience", "silence"]
LAST_FIND = ".earshot-last-find.json"  # in the workspace: the batch tool's "the files I found"
MAX_LISTED = 5000  # matches listed in the result's data (the count is always exact)


@dataclass
class Args:
    key: str = field(default="", metadata={"max_length": 12, "doc": 'musical key: "D minor", "F#", "minor"; "" any'})
    tempo_bpm: float = field(default=0, metadata={"min": 0, "max": 300, "doc": "around this tempo (±2 BPM); 0 any"})
    tempo_min_bpm: float = field(default=0, metadata={"min": 0, "max": 300})
    tempo_max_bpm: float = field(default=0, metadata={"min": 0, "max": 300})
    min_duration_s: float = field(default=0, metadata={"min": 0, "max": 36000})
    max_duration_s: float = field(default=0, metadata={"min": 0, "max": 36000, "doc": "0 any"})
    louder_than_lufs: float = field(default=0, metadata={"min": -70, "max": 0, "doc": "0 any"})
    quieter_than_lufs: float = field(default=0, metadata={"min": -70, "max": 0, "doc": "0 any"})
    instrument: Instrument = field(default="any", metadata={"doc": "instrument family heard"})
    content: Content = field(default="any", metadata={"doc": "what the file mostly is"})
    kind: Literal["any", "loop", "one-shot"] = field(
        default="any", metadata={"doc": "loop: a steady beat (a tempo was measured); one-shot: one sound under 2 s"}
    )
    clipping: Literal["any", "yes", "no"] = field(default="any", metadata={"doc": "yes: files that clip"})
    words: str = field(default="", metadata={"max_length": 60, "doc": "words spoken in the recording"})
    folder: str = field(default="", metadata={"max_length": 60, "doc": "part of the folder's name"})
    similar_to: Artifact | None = field(default=None, metadata={"doc": "a file whose sound to match"})


SPEC = ToolSpec(
    name="find",
    doing="searching the sample library",
    summary="search the sample library: key, BPM, length, loudness, instrument, speech/music, clipping, "
    "words said, folder, sounds like a file",
    examples=(
        "find the takes in D minor around 120 bpm",
        "which recordings clip?",
        "the interviews where someone says budget",
        "find sounds like kick.wav",
    ),
    method="library index query (SQLite) over tag/detect analyses (signal processing) and Whisper transcripts "
    "(learned); similarity by a descriptor vector (signal processing)",
    learned=False,
    licence="GPL-3.0-or-later (Earshot's own code)",
    timeout_s=120,
    max_memory_mb=1024,
)


def query_from(args: Args, similar_path: Path | None):
    from ..library.query import Query, tag_of

    return Query(
        key=args.key,
        tempo_bpm=args.tempo_bpm,
        tempo_tolerance_bpm=2.0,
        tempo_min_bpm=args.tempo_min_bpm,
        tempo_max_bpm=args.tempo_max_bpm,
        min_duration_s=args.min_duration_s,
        max_duration_s=args.max_duration_s,
        min_lufs=args.louder_than_lufs or None,
        max_lufs=args.quieter_than_lufs or None,
        tag="" if args.instrument == "any" else tag_of(args.instrument),
        kind="" if args.kind == "any" else args.kind,
        has_speech=True if args.content == "speech" else None,
        has_music=True if args.content == "music" else None,
        silent=True if args.content == "silence" else None,
        has_clipping={"any": None, "yes": True, "no": False}[args.clipping],
        words=args.words,
        folder=args.folder,
        similar_to=similar_path,
    ) if args.content != "ambience" else Query(
        key=args.key, folder=args.folder, words=args.words, tag="ambience", similar_to=similar_path
    )  # fmt: skip


def describe_query(args: Args) -> str:
    bits = []
    if args.key:
        bits.append(args.key)
    if args.tempo_bpm:
        bits.append(f"about {args.tempo_bpm:g} BPM")
    if args.tempo_min_bpm or args.tempo_max_bpm:
        bits.append(f"{args.tempo_min_bpm or 0:g}–{args.tempo_max_bpm or '∞'} BPM")
    if args.min_duration_s or args.max_duration_s:
        bits.append(f"{args.min_duration_s:g}–{args.max_duration_s or '∞'} s")
    if args.louder_than_lufs:
        bits.append(f"louder than {args.louder_than_lufs:g} LUFS")
    if args.quieter_than_lufs:
        bits.append(f"quieter than {args.quieter_than_lufs:g} LUFS")
    if args.instrument != "any":
        bits.append(args.instrument)
    if args.kind != "any":
        bits.append(f"{args.kind}s")
    if args.content != "any":
        bits.append(args.content)
    if args.clipping != "any":
        bits.append("clipping" if args.clipping == "yes" else "no clipping")
    if args.words:
        bits.append(f'saying "{args.words}"')
    if args.folder:
        bits.append(f"in folders named like {args.folder!r}")
    if args.similar_to is not None:
        bits.append(f"sounding like {args.similar_to.name}")
    return ", ".join(bits) or "everything"


def run(args: Args, ctx: ToolContext) -> ToolResult:
    from ..library.index import LibraryIndex
    from ..library.query import count_query, run_query

    index_path = ctx.config.paths.library_path
    if not index_path.is_file():
        raise EarshotError("the sample library is empty", "add a folder first: earshot library add DIR")
    index = LibraryIndex(index_path)
    try:
        if index.count() == 0:
            raise EarshotError("the sample library is empty", "add a folder first: earshot library add DIR")
        ctx.progress(0.1, "searching the library")
        target, similar_path = None, None
        if args.similar_to is not None:
            similar_path = Path(args.similar_to.path)
            own = index.row(str(similar_path.resolve()))
            if own is None or own.analysis.vector is None:
                from ..library.descriptors import descriptor_vector

                audio, rate = ctx.load_audio(args.similar_to)
                target = descriptor_vector(audio, rate)
        query = query_from(args, similar_path)
        matches = run_query(index, query, target_vector=target, limit=MAX_LISTED)
        total = count_query(index, query) if target is None else len(matches)
        rows = {m.path: index.row(m.path) for m in matches[: ctx.config.library.max_results]}
    finally:
        index.close()
    shown = matches[: ctx.config.library.max_results]
    artifacts = []
    for n, m in enumerate(shown):
        ctx.progress(0.2 + 0.8 * n / max(1, len(shown)), "registering the found files")
        artifacts.append(_as_artifact(ctx, m.path, rows[m.path]))
    (ctx.session.workspace / LAST_FIND).write_text(json.dumps([m.path for m in matches]), encoding="utf-8")
    listed_all = total <= len(matches)
    what = describe_query(args)
    if not matches:
        summary = f"Found no files in the library matching {what}."
    else:
        best = "; ".join(f"{a.ref} {a.name} ({m.summary})" for a, m in zip(artifacts[:3], shown[:3]))
        listed = f" The first {len(shown)} are in the file list." if total > len(shown) else ""
        summary = f"Found {total} file{'s' if total != 1 else ''} matching {what}, best first: {best}.{listed}"
    method = " Ranked by a descriptor vector (signal processing, not a learned embedding)." if args.similar_to else ""
    summary += method + " (Library analyses: signal processing, words by Whisper.)"
    return ToolResult(
        summary,
        artifacts,
        {
            "count": total,
            "matches": [m.path for m in matches],  # every match, best first (at most MAX_LISTED)
            "scores": [m.score for m in matches],
            "listed_all": listed_all,
            "query": what,
        },
    )


def _as_artifact(ctx: ToolContext, path: str, row) -> Artifact:
    """The library file as an artifact of the session (the same one if this session already has it)."""
    known = ctx.session.find_artifact_by_path(Path(path))
    if known is not None:
        return known
    a = row.analysis
    name = f"{row.folder}/{row.name}" if row.folder else row.name
    return ctx.session.add_artifact(
        Path(path),
        "input",
        duration_s=a.duration_s,
        sample_rate_hz=a.sample_rate_hz,
        channels=a.channels,
        meta={"library": True, "root": row.root},
        name=name,
    )
