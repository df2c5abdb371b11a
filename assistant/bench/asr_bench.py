"""`earshot bench asr`: the voice loop's recognisers on the latency bench's requests, by WER and time.

The same audio for every engine (bench/speech_set.py: CHAT and COMMANDS said by hibari and espeak-ng
voices), each utterance as the loop's pause pass sees it (the 320 ms pre-roll, the speech, ~100 ms of the
silence after it), calls alternated between engines so a busy machine slows them alike. Engines:

- `whisper`: the configured Whisper (tiny.en) through `transcribe_short`, the loop's short-window pass;
- `moonshine`: Moonshine base (runtime/moonshine.py), the same interface;
- `<engine>+tail`: the final pass costing only the tail (voice/tail.py): the words of the last partial
  transcript (made ≤ `partial_interval_ms` before the end, on the audio up to there) are kept, and only
  the audio after them — from `overlap_s` before — is transcribed and merged on the words both share.

Word error rate after one normalisation applied to reference and hypothesis alike (case, punctuation,
"memo.wav" = "memo dot wav", numbers as words: "-16" = "minus sixteen"); ms per utterance as wall time
(median, p90) and CPU time of the process.
"""

from __future__ import annotations

import os
import re
import sys
import time

import numpy as np

from .speech_set import DEFAULT_VOICES, RATE, build_set, noise_floor, requests

_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
_ONES += "seventeen eighteen nineteen"
ONES = _ONES.split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    return " ".join(ONES[int(d)] for d in str(n))


def normalise(text: str) -> list[str]:
    t = text.lower()
    t = re.sub(r"(?<=[a-z0-9])\.(?=[a-z])", " dot ", t)  # memo.wav → memo dot wav
    t = re.sub(r"(?<![a-z0-9])-(?=\d)", " minus ", t)  # -16 → minus 16
    t = re.sub(r"\d+", lambda m: " " + number_words(int(m.group())) + " ", t)
    t = re.sub(r"[^a-z' ]+", " ", t)
    return [w.strip("'") for w in t.split() if w.strip("'")]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edits, reference words) — Levenshtein distance over normalised words."""
    r, h = normalise(reference), normalise(hypothesis)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[:], i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return d[len(h)], len(r)


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def run_asr_bench(
    config,
    *,
    voices: tuple[str, ...] = DEFAULT_VOICES,
    limit: int | None = None,
    engines: list[str] | None = None,
    progress: bool = True,
) -> dict:
    from ..runtime.asr import get_recognizer
    from ..runtime.models import ModelStore
    from ..runtime.tts import get_tts
    from ..voice.tail import TailTranscriber

    say = (lambda m: print(f"… {m}", file=sys.stderr, flush=True)) if progress else None
    store = ModelStore(config.paths)
    listen = config.voice.listen
    whisper = get_recognizer(store, config.models.asr)
    recognizers = {}
    for name in engines or ["whisper", "moonshine"]:
        if name == "whisper":
            recognizers[name] = whisper
        elif name == "moonshine":
            from ..runtime.moonshine import get_moonshine

            t0 = time.perf_counter()
            recognizers[name] = get_moonshine(store, config)
            if say:
                say(f"Moonshine loaded in {time.perf_counter() - t0:.1f} s")
        else:
            raise ValueError(f"unknown engine {name!r}: whisper or moonshine")
    calls = {}
    for name, rec in recognizers.items():
        calls[name] = lambda a, rec=rec: rec.transcribe_short(a, min_window_s=listen.asr_min_window_s)
        tail = TailTranscriber(rec.transcribe_short, min_window_s=listen.asr_min_window_s)
        calls[name + "+tail"] = tail
    for fn in calls.values():  # warm
        fn(np.zeros(RATE, np.float32))
    spoken = build_set(requests(limit), tuple(voices), get_tts(store), whisper, say, cuts=False)
    pre = int(config.voice.endpoint.pre_roll_ms * RATE / 1000)
    interval = int(listen.partial_interval_ms * RATE / 1000)
    rows: dict[str, dict] = {name: {"errors": 0, "words": 0, "wall": [], "cpu": [], "exact": 0} for name in calls}
    per_voice: dict[str, dict[str, list[int]]] = {name: {} for name in calls}
    examples: dict[str, list[str]] = {name: [] for name in calls}
    for n, s in enumerate(spoken):
        audio = np.concatenate(
            [noise_floor(pre, 900 + n), s.audio + noise_floor(len(s.audio), 901 + n), noise_floor(RATE // 10, 902 + n)]
        )
        # The last partial the loop made: at a multiple of partial_interval_ms after the onset, before the end.
        partial_at = pre + ((len(s.audio) - 1) // interval) * interval
        partials = {  # each engine's own partial (the loop's partials come from its recogniser)
            name: rec.transcribe_short(audio[:partial_at], min_window_s=listen.asr_min_window_s).text
            for name, rec in recognizers.items()
        }
        for name, fn in calls.items():
            c0, t0 = time.process_time(), time.perf_counter()
            if name.endswith("+tail"):
                result = fn(audio, known_text=partials[name[: -len("+tail")]], known_samples=partial_at)
            else:
                result = fn(audio)
            wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
            e, w = word_errors(s.text, result.text)
            row = rows[name]
            row["errors"] += e
            row["words"] += w
            row["wall"].append(wall)
            row["cpu"].append(cpu)
            row["exact"] += e == 0
            per_voice[name].setdefault(s.voice, [0, 0])
            per_voice[name][s.voice][0] += e
            per_voice[name][s.voice][1] += w
            if e and len(examples[name]) < 8:
                examples[name].append(f"{s.text!r} [{s.voice}] → {result.text!r}")
        if say and (n + 1) % 20 == 0:
            say(f"transcribed {n + 1}/{len(spoken)} utterances")
    return {
        "utterances": len(spoken),
        "voices": list(voices),
        "engines": {
            name: {
                "wer": round(r["errors"] / max(1, r["words"]), 4),
                "exact": f"{r['exact']}/{len(spoken)}",
                "wer_by_voice": {v: round(e / max(1, w), 4) for v, (e, w) in per_voice[name].items()},
                "wall_ms_p50": _pct(r["wall"], 50),
                "wall_ms_p90": _pct(r["wall"], 90),
                "cpu_ms_p50": _pct(r["cpu"], 50),
                "cpu_ms_p90": _pct(r["cpu"], 90),
                "errors": examples[name],
            }
            for name, r in rows.items()
        },
        "tail_joined": {
            name: f"{fn.joined}/{fn.joined + fn.fell_back}" for name, fn in calls.items() if name.endswith("+tail")
        },
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def print_result(r: dict) -> None:
    print(f"ASR, offline: {r['utterances']} utterances ({', '.join(r['voices'])}); load average {r['load_average']}")
    print(
        f"{'engine':18s} {'WER':>7s} {'exact':>9s} {'wall p50':>9s} {'p90':>7s} {'CPU p50':>8s} {'p90':>7s}  by voice"
    )
    for name, e in r["engines"].items():
        print(
            f"{name:18s} {e['wer']:7.1%} {e['exact']:>9s} {e['wall_ms_p50']!s:>9s} {e['wall_ms_p90']!s:>7s} "
            f"{e['cpu_ms_p50']!s:>8s} {e['cpu_ms_p90']!s:>7s}  "
            + ", ".join(f"{v} {w:.1%}" for v, w in e["wer_by_voice"].items())
        )
