"""extract: keep what a text query names — a time range, a kind of sound, a stem, a loud or quiet
stretch, or the place where some words are said.

The query is read by rules, in this order:
    "0:10 to 0:25", "from 12 s to 20 s", "the first 30 seconds", "the last 5 s", "after 1:00"
                                       → cut that range
    "where she says <words>"           → transcribe with word times (Whisper), cut the phrase
    "the vocals" / "the instrumental" / "the drums" / "without the drums"
                                       → `separate` (REPET-SIM / HPSS stems)
    "the speech", "the singing", "the music", "the silence", "the noise", "the hits", "the clipping"
                                       → `detect` events of that kind, cut and joined
    "the loudest bar / beat / second / part", "the quietest …"
                                       → levels over the beat grid of `tag` (or fixed windows)
    anything else ("the part where the dog barks")
                                       → the most prominent sound that is not speech or music;
                                         there is no sound classifier offline, and the reply says so
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import EarshotError
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

PAD_S = 0.03  # kept around detected events (attacks and tails are soft)
JOIN_GAP_S = 0.5  # events of the asked kind closer than this are one stretch
FADE_S = 0.01  # fades where joined stretches meet (no clicks)
PART_S = 5.0  # "the loudest part" without a unit: a window this long

TIME = r"(\d+:\d{1,2}(?::\d{1,2})?(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)?)"
RANGE_RE = re.compile(rf"(?:from|between)?\s*{TIME}\s*(?:to|-|–|—|until|till|and|through)\s*{TIME}", re.I)
FIRST_RE = re.compile(rf"\b(first|last|final|opening|closing)\s+{TIME}", re.I)
AFTER_RE = re.compile(rf"\b(after|from|starting at|since)\s+{TIME}(?:\s+on(?:wards)?)?", re.I)
BEFORE_RE = re.compile(rf"\b(before|until|up to|till)\s+{TIME}", re.I)
SAYS_RE = re.compile(
    r"\b(?:says?|said|saying|mentions?|mentioned|talks? about|the words?)\s+[\"“']?(.+?)[\"”']?\s*$", re.I
)
EXTREME_RE = re.compile(
    r"\b(loudest|quietest|softest)\s+(?:(\d+(?:\.\d+)?)\s*)?(bars?|measures?|beats?|seconds?|s|part|section|bit|moment)?\b",
    re.I,
)

STEMS = {  # query words → (separate stem, what to call it)
    "vocals": ("vocals", "vocals"),
    "vocal": ("vocals", "vocals"),
    "acapella": ("vocals", "vocals"),
    "a cappella": ("vocals", "vocals"),
    "instrumental": ("accompaniment", "accompaniment"),
    "accompaniment": ("accompaniment", "accompaniment"),
    "backing": ("accompaniment", "accompaniment"),
    "karaoke": ("accompaniment", "accompaniment"),
    "drums": ("drums", "drums"),
    "drum": ("drums", "drums"),
    "percussion": ("drums", "drums"),
    "beat": ("drums", "drums"),
}
WITHOUT = {
    "vocals": "accompaniment",
    "vocal": "accompaniment",
    "voice": "accompaniment",
    "singing": "accompaniment",
    "drums": "harmonic",
    "drum": "harmonic",
    "percussion": "harmonic",
}
CLASSES = {  # query words → detect label
    "speech": "speech",
    "speaking": "speech",
    "talking": "speech",
    "talk": "speech",
    "spoken": "speech",
    "dialogue": "speech",
    "dialog": "speech",
    "narration": "speech",
    "voice": "speech",
    "voices": "speech",
    "speaker": "speech",
    "conversation": "speech",
    "singing": "singing",
    "sung": "singing",
    "singer": "singing",
    "song": "music",
    "music": "music",
    "melody": "music",
    "silence": "silence",
    "silent": "silence",
    "pause": "silence",
    "pauses": "silence",
    "gap": "silence",
    "gaps": "silence",
    "noise": "noise",
    "hiss": "noise",
    "ambience": "noise",
    "ambient": "noise",
    "hits": "hits",
    "hit": "hits",
    "clap": "hits",
    "claps": "hits",
    "knock": "hits",
    "knocks": "hits",
    "clipping": "clipping",
    "clipped": "clipping",
    "distortion": "clipping",
}


@dataclass
class Args:
    file: Artifact
    query: str = field(
        metadata={
            "max_length": 120,
            "doc": 'what to keep, in the user\'s words: "the speech", '
            '"the drums", "0:10 to 0:25", "the loudest bar", "the part where the dog barks"',
        }
    )


SPEC = ToolSpec(
    name="extract",
    doing="finding {query} in {file}",
    summary="keep only what a query names: a time range, the speech, the vocals, the drums, the loudest bar, "
    "the part where a sound happens",
    examples=(
        "extract 0:10 to 0:25 from song.wav",
        "keep only the speech in interview.wav",
        "cut out the loudest bar of @a2",
        "give me the part where the dog barks",
    ),
    method="signal processing: rule-based query reading + detect events / separate stems / tag beat grid, then cut "
    "(Whisper word times for quoted words)",
    learned=False,
    licence="ISC (librosa) / MIT",
    timeout_s=900,
    max_memory_mb=4096,
)


# -- reading the query -------------------------------------------------------------------------------
def parse_time(text: str) -> float:
    """ "1:02.5" → 62.5, "1:00:00" → 3600, "90 s" → 90, "2 min" → 120, "500 ms" → 0.5, "12" → 12."""
    text = text.strip().lower()
    if ":" in text:
        parts = [float(p) for p in text.split(":")]
        value = 0.0
        for p in parts:
            value = value * 60 + p
        return value
    m = re.match(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    number, unit = float(m.group(1)), m.group(2)
    if unit.startswith("ms") or unit.startswith("milli"):
        return number / 1000
    if unit in ("m", "min", "mins", "minute", "minutes"):
        return number * 60
    return number


def time_range(query: str, duration_s: float) -> tuple[float, float] | None:
    """A time range written in the query, or None."""
    if m := RANGE_RE.search(query):
        return parse_time(m.group(1)), parse_time(m.group(2))
    if m := FIRST_RE.search(query):
        length = parse_time(m.group(2))
        if m.group(1).lower() in ("first", "opening"):
            return 0.0, length
        return max(0.0, duration_s - length), duration_s
    if m := AFTER_RE.search(query):
        if re.search(r"\d", m.group(2)):
            return parse_time(m.group(2)), duration_s
    if m := BEFORE_RE.search(query):
        if re.search(r"\d", m.group(2)):
            return 0.0, parse_time(m.group(2))
    return None


def _words(query: str) -> list[str]:
    return re.findall(r"[a-z]+", query.lower())


def read_query(query: str) -> tuple[str, object]:
    """(kind, detail): ("range", None) is decided with the duration; others: "says", "stem",
    "class", "extreme", "sound"."""
    q = query.strip()
    if m := SAYS_RE.search(q):
        phrase = m.group(1).strip(" .!?\"'")
        if phrase:
            return "says", phrase
    words = _words(q)
    lowered = " ".join(words)
    if m := EXTREME_RE.search(q):
        which = "loudest" if m.group(1).lower() == "loudest" else "quietest"
        count = float(m.group(2)) if m.group(2) else None
        unit = (m.group(3) or "part").lower()
        unit = {"s": "second", "seconds": "second", "bars": "bar", "measures": "measure", "beats": "beat"}.get(
            unit, unit
        )
        return "extreme", (which, unit, count)
    for i, w in enumerate(words):
        if w in ("without", "minus", "no", "remove", "removing", "but", "except") and i + 1 < len(words):
            nxt = words[i + 1] if words[i + 1] != "the" or i + 2 >= len(words) else words[i + 2]
            if nxt in WITHOUT:
                return "stem", WITHOUT[nxt]
    if "a cappella" in lowered:
        return "stem", "vocals"
    for w in words:
        if w in STEMS and not (w == "beat" and "loudest" in words):
            return "stem", STEMS[w][0]
    for w in words:
        for form in (w, w[:-1] if w.endswith("s") else w, w[:-2] if w.endswith("es") else w):
            if form in CLASSES:
                return "class", CLASSES[form]
    return "sound", lowered


# -- cutting -------------------------------------------------------------------------------------------
def _join(audio: np.ndarray, rate: int, spans: list[tuple[float, float]]) -> np.ndarray:
    """The spans of `audio` ((frames, ch)) one after another, with short fades where they meet."""
    pieces = []
    fade = int(FADE_S * rate)
    for a, b in spans:
        piece = audio[int(round(a * rate)) : int(round(b * rate))].copy()
        if len(spans) > 1 and len(piece) > 2 * fade and fade:
            ramp = np.linspace(0, 1, fade, dtype=np.float32)[:, None]
            piece[:fade] *= ramp
            piece[-fade:] *= ramp[::-1]
        pieces.append(piece)
    return np.concatenate(pieces, axis=0) if pieces else np.zeros((0, audio.shape[1]), np.float32)


def merge_spans(
    spans: list[tuple[float, float]], gap_s: float, pad_s: float, duration_s: float
) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for a, b in sorted(spans):
        a, b = max(0.0, a - pad_s), min(duration_s, b + pad_s)
        if merged and a - merged[-1][1] <= gap_s:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(round(a, 3), round(b, 3)) for a, b in merged]


def _clock(s: float) -> str:
    from .detect import clock

    return clock(s)


def _spans_text(spans: list[tuple[float, float]]) -> str:
    shown = ", ".join(f"{_clock(a)}–{_clock(b)}" for a, b in spans[:5])
    return shown + (f" and {len(spans) - 5} more" if len(spans) > 5 else "")


def loudness_windows(
    audio: np.ndarray, rate: int, unit: str, count: float | None, which: str
) -> tuple[tuple[float, float], str]:
    """The loudest/quietest bar, beat or window; returns the span and a note on how it was measured."""
    from ..audio.files import resample
    from .tag import RATE_HZ as TAG_RATE
    from .tag import beat_grid, downbeat_phase

    mono = audio.mean(axis=1)
    duration = len(mono) / rate
    spans: list[tuple[float, float]] = []
    note = ""
    if unit in ("bar", "measure", "beat"):
        y = resample(mono, rate, TAG_RATE)
        tempo, beats, confidence = beat_grid(y)
        if tempo and confidence >= 0.3 and len(beats) >= 2:
            per = (1 if unit == "beat" else 4) * max(1, int(count or 1))
            start = downbeat_phase(y, beats) if unit != "beat" else 0
            marks = beats[start::per] + [min(duration, beats[-1] + 60.0 / tempo)]
            spans = [(a, b) for a, b in zip(marks[:-1], marks[1:]) if b > a]
            note = f" ({unit}s from the beat grid at {tempo:.0f} BPM)"
        else:
            note = f" (no steady beat, so 2-second windows stand in for {unit}s)"
            unit, count = "second", 2.0
    if not spans:
        length = count if count else (PART_S if unit in ("part", "section", "bit", "moment") else 1.0)
        length = min(length, duration)
        step = length / 4
        starts = np.arange(0.0, max(duration - length, 0.0) + 1e-9, step)
        spans = [(float(a), float(a + length)) for a in starts]
    levels = []
    for a, b in spans:
        seg = mono[int(a * rate) : int(b * rate)]
        levels.append(10 * np.log10(np.mean(seg**2) + 1e-12) if len(seg) else -120.0)
    pick = int(np.argmax(levels)) if which == "loudest" else int(np.argmin(levels))
    return (round(spans[pick][0], 3), round(spans[pick][1], 3)), note + f", {levels[pick]:.1f} dBFS RMS"


def prominent_sound(events, duration_s: float) -> tuple[float, float] | None:
    """The most prominent stretch that is neither speech, singing, music nor silence: noise events and
    groups of hits, scored by level-weighted length (peak strength × duration)."""
    candidates: list[tuple[float, float, float]] = []
    hits = [e for e in events if e.label == "hits"]
    for a, b in merge_spans([(e.start_s, e.end_s) for e in hits], 0.4, 0.0, duration_s):
        n = sum(1 for e in hits if a <= e.start_s <= b)
        candidates.append((a, b, n * 0.5 + (b - a)))
    for e in events:
        if e.label == "noise":
            candidates.append((e.start_s, e.end_s, e.duration_s))
    if not candidates:
        return None
    a, b, _ = max(candidates, key=lambda c: c[2])
    return a, b


def phrase_span(ctx: ToolContext, audio: np.ndarray, rate: int, phrase: str) -> tuple[tuple[float, float], str] | None:
    """Where the words of `phrase` are said: the best-matching run of transcribed words."""
    from difflib import SequenceMatcher

    from ..audio.files import resample
    from ..runtime.asr import transcribe_any

    result = transcribe_any(
        ctx.models,
        ctx.config.models.asr,
        resample(audio.mean(axis=1), rate, 16_000),
        language="auto",
        word_timestamps=True,
    )
    words = [w for s in result.segments for w in (s.words or [])]
    if not words:
        return None
    target = _words(phrase)
    n = max(1, len(target))
    best, best_score = None, 0.0
    spoken = [re.sub(r"[^a-z0-9']", "", w.word.lower()) for w in words]
    for i in range(len(words)):
        for m in (n - 1, n, n + 1):
            if m < 1 or i + m > len(words):
                continue
            score = SequenceMatcher(None, " ".join(target), " ".join(spoken[i : i + m])).ratio()
            if score > best_score:
                best, best_score = (i, i + m), score
    if best is None or best_score < 0.6:
        return None
    i, j = best
    return (words[i].start_s, words[j - 1].end_s), " ".join(w.word.strip() for w in words[i:j])


def run(args: Args, ctx: ToolContext) -> ToolResult:
    from .detect import detect_events

    require_audio(args.file, SPEC.name)
    query = args.query.strip()
    if not query:
        raise EarshotError("extract needs a query", 'say what to keep, e.g. "the speech" or "0:10 to 0:25"')
    audio, rate = ctx.load_audio(args.file, mono=False)
    duration = audio.shape[0] / rate
    name, stem = args.file.name, stem_of(args.file)
    report = lambda f, msg="analysing": ctx.progress(0.9 * f, msg)  # noqa: E731
    parents = [args.file]

    rng = time_range(query, duration)
    kind, detail = ("range", rng) if rng else read_query(query)
    how = ""
    spans: list[tuple[float, float]]
    if kind == "range":
        a, b = rng
        if a >= duration:
            raise EarshotError(
                f"{name} is only {duration:.2f} s long; nothing is left after {a:g} s",
                f"pick a time before {duration:.2f} s",
            )
        if b <= a:
            raise EarshotError(f"the end ({b:g} s) must come after the start ({a:g} s)", "swap the times")
        spans = [(a, min(b, duration))]
        label, how = "range", "the time range in the request"
    elif kind == "stem":
        from .separate import hpss, vocals_accompaniment

        if detail in ("drums", "harmonic"):
            harmonic, percussive = hpss(audio, report)
            out = percussive if detail == "drums" else harmonic
            method = "harmonic/percussive separation (HPSS)"
        else:
            vocals, accompaniment, method = vocals_accompaniment(audio, rate, report)
            out = vocals if detail == "vocals" else accompaniment
        art = ctx.new_audio_artifact(
            out if out.shape[1] > 1 else out[:, 0],
            rate,
            f"{stem}-{detail}",
            parents=parents,
            meta={"query": query, "stem": detail, "method": method},
        )
        ctx.progress(1.0, "done")
        return ToolResult(
            f"Extracted the {detail} of {name} with {method} (signal processing, not a learned model) → {art.name}.",
            [art],
            {"query": query, "stem": detail, "method": method},
        )
    elif kind == "says":
        found = phrase_span(ctx, audio, rate, str(detail))
        if found is None:
            raise EarshotError(
                f'could not find the words "{detail}" in {name}',
                "transcribe it first to see what is said, then quote words from it",
            )
        (a, b), heard = found
        spans = [(max(0.0, a - 0.05), min(duration, b + 0.1))]
        label, how = "words", f'the words "{heard}" found by Whisper word timestamps'
    elif kind == "extreme":
        which, unit, count = detail
        span, note = loudness_windows(audio, rate, unit, count, which)
        spans = [span]
        label, how = which, f"the {which} {unit}{note}"
    else:
        events, _ = detect_events(audio, rate, report)
        if kind == "class":
            label = str(detail)
            chosen = [(e.start_s, e.end_s) for e in events if e.label == label]
            if not chosen:
                raise EarshotError(f"found no {label} in {name}", "run detect to see which sounds it found")
            gap = 0.0 if label in ("silence", "clipping") else JOIN_GAP_S
            spans = merge_spans(chosen, gap, 0.0 if label == "silence" else PAD_S, duration)
            how = f"{label} events found by detect"
        else:
            span = prominent_sound(events, duration)
            if span is None:
                raise EarshotError(
                    f'found no sound in {name} that could be "{query}"',
                    "there is no sound classifier offline; name a time range instead",
                )
            spans = merge_spans([span], 0.0, PAD_S, duration)
            label = "sound"
            how = (
                f'the most prominent sound that is not speech or music — there is no sound classifier offline, '
                f'so this is a guess at "{query}"'
            )
    out = _join(audio, rate, spans)
    if out.shape[0] == 0:
        raise EarshotError(f"nothing of {name} matched {query!r}", "try a time range")
    art = ctx.new_audio_artifact(
        out if out.shape[1] > 1 else out[:, 0],
        rate,
        f"{stem}-{label}",
        parents=parents,
        meta={"query": query, "spans_s": spans},
    )
    ctx.progress(1.0, "done")
    joined = " (joined)" if len(spans) > 1 else ""
    summary = (
        f"Kept {_spans_text(spans)} of {name}{joined}: {how} → {art.name} ({art.duration_s:.1f} s). "
        "Signal processing, not a learned model."
    )
    return ToolResult(summary, [art], {"query": query, "spans_s": [list(s) for s in spans], "how": how})
