"""Wake phrase without a wake-word model: VAD → the tiny ASR → fuzzy match against the phrase.

No offline wake-word model can be installed here (openwakeword's models download at run time), so
an utterance is transcribed by Whisper tiny.en with the phrase as a decoder hint, and its opening
words are compared letter by letter with the phrase. Letters, not words: the ASR splits and
respells an unusual name ("Earshot" → "ear shot", "your shot"), but most of its letters survive.

`earshot bench latency` measures the hit rate (the phrase said by several voices) and the
false-accept rate (other speech, including near misses like "hey there") at the configured score.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher


@dataclass(frozen=True, slots=True)
class WakeMatch:
    accepted: bool
    score: float  # 0..1 letter similarity of the best-matching opening
    remainder: str  # the words after the phrase ("hey earshot, what can you do" → "what can you do")


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


class WakeMatcher:
    def __init__(self, phrase: str, min_score: float = 0.72) -> None:
        self.phrase = phrase
        self.min_score = min_score
        self._target = "".join(_words(phrase)).replace("'", "")
        if not self._target:
            raise ValueError("the wake phrase has no letters")
        self._n = len(_words(phrase))

    def match(self, transcript: str) -> WakeMatch:
        """The best score over openings of the transcript (it may start with one filler word)."""
        words = _words(transcript)
        best, best_end = 0.0, 0
        for start in range(0, min(2, len(words))):
            for end in range(start + 1, min(len(words), start + self._n + 2) + 1):
                candidate = "".join(words[start:end]).replace("'", "")
                score = SequenceMatcher(None, candidate, self._target, autojunk=False).ratio()
                if score > best:
                    best, best_end = score, end
        remainder = _remainder(transcript, best_end) if best >= self.min_score else ""
        return WakeMatch(best >= self.min_score, round(best, 3), remainder)


def _remainder(transcript: str, n_words: int) -> str:
    """The transcript after its first `n_words` words, keeping the original spelling and punctuation."""
    spans = list(re.finditer(r"[A-Za-z0-9']+", transcript))
    if n_words >= len(spans):
        return ""
    return transcript[spans[n_words].start() :].strip().lstrip(",.;:!?- ")
