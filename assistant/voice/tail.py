"""The final transcript from the tail: the words the partial passes already heard, plus the audio after them.

While the user speaks, a partial transcript is made every `partial_interval_ms` on the utterance so far, so
at the pause most of the audio has been transcribed once already. `TailTranscriber` transcribes only the
audio from `overlap_s` before the last partial's end to the end of the utterance, and joins the two on the
words they share: the partial minus its last word (the audio may have cut it in half) is kept, its last one
or two kept words are looked for near the start of the tail's transcript, and the tail's words after them
are appended. When the anchor is not found (the partial misheard, the tail starts mid-word in a way that
changes it) the whole utterance is transcribed as before — never a guessed join.

What it saves depends on the recogniser (`earshot bench asr` measures both): Moonshine's encoder reads the
audio it is given, so a shorter input costs less; Whisper's short-window pass pads any input to the same
6 s window, so only the decoder's tokens for the words already known are saved.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

RATE = 16_000


def _norm(word: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", word.lower())


def join_on_overlap(known: str, tail: str, anchor_words: int = 2, search_words: int = 5) -> str | None:
    """`known` (the partial) without its last word, then `tail`'s words after where the kept part's last
    words recur among the tail's first `search_words` words. None when they do not recur."""
    kept = known.split()[:-1]
    tail_words = tail.split()
    if not kept or not tail_words:
        return None
    tail_norm = [_norm(w) for w in tail_words]
    for a in range(min(anchor_words, len(kept)), 0, -1):
        anchor = [_norm(w) for w in kept[-a:]]
        if not all(anchor):
            continue
        for p in range(0, min(search_words, len(tail_words) - a + 1)):
            if tail_norm[p : p + a] == anchor:
                rest = tail_words[p + a :]
                return " ".join(kept + rest)
    return None


class TailTranscriber:
    """`transcribe_short`'s interface, plus what the partials already know. `transcribe`: a recogniser's
    `transcribe_short`."""

    def __init__(self, transcribe: Callable[..., object], min_window_s: float = 6.0, overlap_s: float = 0.8) -> None:
        self.transcribe = transcribe
        self.min_window_s = min_window_s
        self.overlap_s = overlap_s
        self.joined = 0  # finals made from a tail
        self.fell_back = 0  # finals that needed the whole utterance

    def __call__(self, audio: np.ndarray, *, known_text: str | None = None, known_samples: int = 0, **kw):
        t0 = time.perf_counter()
        start = int(known_samples - self.overlap_s * RATE)
        if known_text and len(known_text.split()) >= 2 and start > 0 and start < len(audio):
            tail = self.transcribe(audio[start:], min_window_s=self.min_window_s, **kw)
            joined = join_on_overlap(known_text, tail.text)
            if joined is not None:
                self.joined += 1
                return replace(
                    tail,
                    text=joined,
                    duration_s=round(len(audio) / RATE, 3),
                    elapsed_ms=round((time.perf_counter() - t0) * 1000, 1),
                )
        if known_text:
            self.fell_back += 1
        result = self.transcribe(audio, min_window_s=self.min_window_s, **kw)
        return replace(result, elapsed_ms=round((time.perf_counter() - t0) * 1000, 1))
