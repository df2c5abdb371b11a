"""Finding files in the library: filters on the analysis, transcript words, folders, nearest neighbours.

Every filter left at its default means "any". Order, best first: by closeness to a target tempo when
one is given, by descriptor similarity for "sounds like", by transcript relevance (FTS5 bm25) for
words, else by path. `run_query` returns every match; callers show the first few.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EarshotError
from .descriptors import nearest
from .index import LibraryIndex, lower_words

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_ENHARMONIC = {"DB": "C#", "D#": "Eb", "GB": "F#", "G#": "Ab", "A#": "Bb", "CB": "B", "FB": "E", "E#": "F", "B#": "C"}
# What people call the tag families (tag.py's instrument guesses are families, not instruments).
TAG_WORDS = {
    "drums": "drums",
    "drum": "drums",
    "percussion": "drums",
    "beat": "drums",
    "bass": "bass",
    "piano": "plucked",
    "guitar": "plucked",
    "plucked": "plucked",
    "keys": "plucked",
    "mallets": "plucked",
    "strings": "sustained",
    "organ": "sustained",
    "pad": "sustained",
    "pads": "sustained",
    "winds": "sustained",
    "sustained": "sustained",
    "voice": "voice",
    "vocals": "voice",
    "singing": "singing",
    "bright": "bright",
    "warm": "warm",
    "dark": "warm",
    "speech": "speech",
    "music": "music",
    "ambience": "ambience",
    "silence": "silence",
}


ONE_SHOT_MAX_S = 2.0  # a hit, a stab, a single note: what sample packs file as one-shots


@dataclass
class Query:
    key: str = ""  # "D minor", "F#", "minor"
    tempo_bpm: float = 0.0  # around this, ± tempo_tolerance_bpm
    tempo_tolerance_bpm: float = 3.0
    tempo_min_bpm: float = 0.0
    tempo_max_bpm: float = 0.0
    min_duration_s: float = 0.0
    max_duration_s: float = 0.0
    min_lufs: float | None = None
    max_lufs: float | None = None
    tag: str = ""  # an instrument family or class tag (TAG_WORDS)
    kind: str = ""  # "loop": a steady beat, a tempo was measured; "one-shot": one sound, under ONE_SHOT_MAX_S
    has_speech: bool | None = None
    has_music: bool | None = None
    has_clipping: bool | None = None
    silent: bool | None = None
    words: str = ""  # every word must be in the transcript
    folder: str = ""  # part of the folder's path
    name: str = ""  # part of the file name
    similar_to: Path | None = None
    include_errors: bool = False


@dataclass(frozen=True)
class Match:
    path: str
    score: float  # what the order is by (closeness, similarity, relevance); 0 when by path
    duration_s: float | None
    key: str | None
    tempo_bpm: float | None
    summary: str


_KEY = re.compile(r"^([A-Ga-g])([#b]?)\s*(major|maj|minor|min|m)?$", re.IGNORECASE)
_ANY_KEY = {"", "any", "none", "all", "any key"}


def normalise_key(text: str) -> tuple[str | None, str | None]:
    """'d minor' → ('D', 'minor'); 'F#m' → ('F#', 'minor'); 'Db' → ('C#', None); 'minor' → (None, 'minor');
    'any' → (None, None). Anything else is no key: an error, never a guess ("drums" is not D)."""
    t = text.strip().replace("♯", "#").replace("♭", "b")
    if t.lower() in _ANY_KEY:
        return None, None
    t = re.sub(r"\s*sharp\s*", "# ", t, flags=re.I)  # "F sharpminor" (a planner's spelling) too
    t = re.sub(r"(?<=[A-Ga-g])\s*flat\s*", "b ", t, flags=re.I)
    t = re.sub(r"\s+", " ", t).strip()
    if t.lower() in ("major", "minor"):
        return None, t.lower()
    m = _KEY.match(t)
    if not m:
        raise EarshotError(f"{text!r} is not a key", "say a key like 'D minor' or 'F# major'")
    suffix = (m.group(3) or "").lower()
    mode = "minor" if suffix in ("minor", "min") or m.group(3) == "m" else "major" if suffix.startswith("maj") else None
    name = m.group(1).upper() + m.group(2)
    name = _ENHARMONIC.get(name.upper(), name)
    if name not in NOTE_NAMES:
        raise EarshotError(f"{text!r} is not a key", "say a key like 'D minor' or 'F# major'")
    return name, mode


def tag_of(word: str) -> str:
    tag = TAG_WORDS.get(word.strip().lower())
    if tag is None:
        raise EarshotError(f"the library has no tag {word!r}", f"tags: {', '.join(sorted(set(TAG_WORDS.values())))}")
    return tag


def _fts_words(words: str) -> str:
    terms = re.findall(r"[A-Za-z0-9']+", words)
    return " AND ".join('"' + t.replace('"', "") + '"' for t in terms)


def run_query(
    index: LibraryIndex, q: Query, target_vector: np.ndarray | None = None, limit: int | None = None
) -> list[Match]:
    """The files matching `q`, best first (the first `limit`, or all). `target_vector`: the descriptor
    vector of `similar_to` when the caller computed it (a file that is not in the index)."""
    where, params, words = _where(q)
    columns = "f.id, f.path, f.duration_s, f.key, f.tempo_bpm, f.content, f.tags"
    source = "transcripts JOIN files f ON f.id = transcripts.rowid" if words else "files f"
    sql_where = " WHERE " + " AND ".join(where) if where else ""
    if q.similar_to is not None or target_vector is not None:
        return _by_similarity(index, q, source, sql_where, params, columns, target_vector, limit)
    order = "f.path"
    order_params: list = []
    if words:
        columns += ", bm25(transcripts) AS rank"
        order = "rank, f.path"
    if q.tempo_bpm > 0:
        order = "ABS(f.tempo_bpm - ?), f.path"
        order_params = [q.tempo_bpm]
    sql = f"SELECT {columns} FROM {source}{sql_where} ORDER BY {order}" + (f" LIMIT {int(limit)}" if limit else "")
    rows = index.db.execute(sql, params + order_params).fetchall()
    if q.tempo_bpm > 0:
        scores = [-abs((r["tempo_bpm"] or 0.0) - q.tempo_bpm) for r in rows]
    else:
        scores = [-float(r["rank"]) if words else 0.0 for r in rows]
    return [_match(r, s) for r, s in zip(rows, scores)]


def count_query(index: LibraryIndex, q: Query) -> int:
    """How many files match `q` (every file with a vector, for a bare "sounds like")."""
    where, params, words = _where(q)
    source = "transcripts JOIN files f ON f.id = transcripts.rowid" if words else "files f"
    if q.similar_to is not None:
        where.append("f.vector IS NOT NULL")
        where.append("f.path != ?")
        params.append(str(Path(q.similar_to).resolve()))
    sql_where = " WHERE " + " AND ".join(where) if where else ""
    return int(index.db.execute(f"SELECT COUNT(*) FROM {source}{sql_where}", params).fetchone()[0])


def _where(q: Query) -> tuple[list[str], list, str]:
    where, params = ([] if q.include_errors else ["f.status = 'ok'"]), []
    if q.key.strip():
        tonic, mode = normalise_key(q.key)
        if tonic and mode:
            where.append("f.key = ?")
            params.append(f"{tonic} {mode}")
        elif tonic:  # "in A": either mode, or a file whose mode could not be told (its key is "A")
            where.append("(f.key = ? OR f.key = ? OR f.key = ?)")
            params += [f"{tonic} major", f"{tonic} minor", tonic]
        elif mode:
            where.append("f.key LIKE ?")
            params.append(f"% {mode}")
    # Tempi are said in whole BPM: an estimate of 117.9 is "118", inside "120 ± 2" (±0.5 more, not ROUND(),
    # so the column's index still serves the range).
    if q.tempo_bpm > 0:
        where.append("f.tempo_bpm >= ? AND f.tempo_bpm < ?")
        params += [q.tempo_bpm - q.tempo_tolerance_bpm - 0.5, q.tempo_bpm + q.tempo_tolerance_bpm + 0.5]
    for column, op, value in (
        ("tempo_bpm", ">=", q.tempo_min_bpm - 0.5 if q.tempo_min_bpm > 0 else 0),
        ("tempo_bpm", "<", q.tempo_max_bpm + 0.5 if q.tempo_max_bpm > 0 else 0),
        ("duration_s", ">=", q.min_duration_s),
        ("duration_s", "<=", q.max_duration_s),
    ):
        if value > 0:
            where.append(f"f.{column} {op} ?")
            params.append(value)
    if q.min_lufs is not None:
        where.append("f.integrated_lufs >= ?")
        params.append(q.min_lufs)
    if q.max_lufs is not None:
        where.append("f.integrated_lufs <= ?")
        params.append(q.max_lufs)
    if q.tag.strip():
        where.append("f.tags LIKE ?")
        params.append(f'%"{tag_of(q.tag)}"%')
    if q.kind == "loop":  # what makes a loop a loop is its beat: tag.py measured a tempo
        where.append("f.tempo_bpm IS NOT NULL")
    elif q.kind == "one-shot":
        where.append("f.tempo_bpm IS NULL AND f.duration_s < ?")
        params.append(ONE_SHOT_MAX_S)
    elif q.kind:
        raise EarshotError(f"{q.kind!r} is not a kind of file the library knows", "say loops or one-shots")
    for column, value in (("has_speech", q.has_speech), ("has_music", q.has_music), ("has_clipping", q.has_clipping)):
        if value is not None:
            where.append(f"f.{column} = ?")
            params.append(int(value))
    if q.silent is not None:
        where.append("f.content " + ("=" if q.silent else "!=") + " 'silence'")
    if q.folder.strip():
        where.append("(f.folder LIKE ? OR f.root LIKE ?)")
        params += [f"%{q.folder.strip()}%"] * 2
    if q.name.strip():
        where.append("f.name LIKE ?")
        params.append(f"%{q.name.strip()}%")
    words = _fts_words(q.words) if q.words.strip() else ""
    if words:
        where.insert(0, "transcripts MATCH ?")
        params.insert(0, words)
        where.append("begins_words(f.transcript, ?)")  # the stemmed match, narrowed to the words said
        params.append(" ".join(lower_words(q.words)))
    return where, params, words


def _match(r, score: float) -> Match:
    return Match(r["path"], round(score, 4), r["duration_s"], r["key"], r["tempo_bpm"], _summary(r))


def _by_similarity(index, q: Query, source, sql_where, params, columns, target_vector, limit):
    """Nearest neighbours among the files the filters allow, the file itself left out."""
    ids, matrix = index.vectors()
    if target_vector is None:
        own = index.row(str(Path(q.similar_to).resolve()))
        if own is None or own.analysis.vector is None:
            raise EarshotError(
                f"{Path(q.similar_to).name} is not in the library index",
                "add its folder with `earshot library add`, or name a file the library has",
            )
        target_vector = own.analysis.vector
    self_path = str(Path(q.similar_to).resolve()) if q.similar_to is not None else None
    rows_allowed = index.db.execute(f"SELECT f.id, f.path FROM {source}{sql_where}", params)
    allowed = np.asarray([r[0] for r in rows_allowed if r[1] != self_path], np.int64)
    keep = np.isin(ids, allowed)
    order, sims = nearest(matrix, np.asarray(target_vector, np.float32), len(ids))
    order_kept = [(int(ids[i]), float(s)) for i, s in zip(order, sims) if keep[i]]
    if limit:
        order_kept = order_kept[:limit]
    if not order_kept:
        return []
    chosen = [rid for rid, _ in order_kept]
    rows = {}
    for start in range(0, len(chosen), 500):  # SQLite's limit on parameters
        part = chosen[start : start + 500]
        sql = f"SELECT {columns} FROM files f WHERE f.id IN ({','.join('?' * len(part))})"
        rows.update({r["id"]: r for r in index.db.execute(sql, part)})
    return [_match(rows[rid], s) for rid, s in order_kept if rid in rows]


def _summary(r) -> str:
    import json

    bits = [r["content"] or "?"]
    if r["key"]:
        bits.append(r["key"])
    if r["tempo_bpm"]:
        bits.append(f"{r['tempo_bpm']:.0f} BPM")
    tags = [t for t in json.loads(r["tags"]) if t not in ("bright", "warm", r["content"])]
    if tags:
        bits.append("/".join(tags))
    if r["duration_s"] is not None:
        bits.append(f"{r['duration_s']:.1f} s")
    return ", ".join(bits)
