"""What the templates never see as words: files, numbers, sung notes and time signatures.

Before matching, each is replaced by a placeholder word (`zzfilea`, `zznumb` …) and offered to the
templates as a one-request slot list whose values are exactly the things the request named. hassil's
own number ranges are whole numbers (or tenths), and its number words over a range as wide as a
file's length (0–36,000 s) build a trie that took 20 s here; file names with dots and hyphens are
not words at all. Everything else of the request stays as it was typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from string import ascii_lowercase

# File references: "@a3", "@last", or a name with a known suffix ("memo-denoised.wav", "beach.jpg").
FILE_SUFFIXES = "wav|flac|ogg|mp3|aiff?|opus|m4a|mid|midi|dawproject|jpe?g|png|webp|txt|json|csv|musicxml"
_FILE = re.compile(rf"(?<![\w/@.-])(@a\d+|@last|\w[\w.-]*\.(?:{FILE_SUFFIXES}))(?![\w-])", re.IGNORECASE)
# What speech recognition writes for a file name: "memo dot wav" → "memo.wav".
_SPOKEN_DOT = re.compile(rf"(?<![\w.-])([\w-]+) dot ({FILE_SUFFIXES})\b", re.IGNORECASE)
# Whisper hears "the drums track" as "the drum's track": a possessive before "track" is the plural.
_POSSESSIVE_TRACK = re.compile(r"\b(\w+)['\u2019]s (?=(?:track|tracks|bus)\b)", re.IGNORECASE)
# "C4:1 E4:1 G4:2": the notes of a melody (sing), before numbers take them apart.
_NOTES = re.compile(
    r"(?<![\w:])([A-G][#b]?\d:\d+(?:\.\d+)?(?:(?:[ ,]+|,? and )(?:[A-G][#b]?\d|r):\d+(?:\.\d+)?)*)(?![\w:])"
)
_SIGNATURE = re.compile(r"(?<![\w/])(\d{1,2})\s?/\s?(\d{1,2})(?![\w/])")
# A unit glued to its number ("6dB", "2kHz", "16-bar") gets a space, so both are words.
_GLUED = re.compile(
    r"(?<=\d)-?(db|khz|hz|s|sec|secs|ms|bpm|x|st|lufs|bars?|beats?|seconds?|minutes?|semitones?)\b", re.IGNORECASE
)
# A unit Whisper misspells after a number: "Set the tempo to 90vpm." for "… ninety BPM." (`earshot bench latency`).
_HEARD_UNIT = re.compile(r"(?<=\d)\s?vpm\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w.:/])((?:minus\s+|[-+\u2212]))?(\d+(?:\.\d+)?)(?![\w:/]|\.\d)", re.IGNORECASE)
_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
}
# Whisper writes "two" as "to" or "too" before a unit ("pitch it up to semitones"): a plural unit with no
# number of its own takes that word for the two ("move the clip to bar 5" is a place, left alone).
_HEARD_TWO = re.compile(
    r"\b(?:to|too)(?=\s+(?:semitones|seconds|decibels|db|bars|beats|octaves|times)\b(?!\s+zznum))", re.IGNORECASE
)
_NUMBER_WORD = re.compile(rf"(?<![\w-])(minus\s+)?({'|'.join(_WORDS)})(?![\w-])", re.IGNORECASE)
_PLACEHOLDER = re.compile(r"zz(file|num|notes|sig)([a-z]+)")


def _name(kind: str, index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = ascii_lowercase[rest] + letters
    return f"zz{kind}{letters}"


@dataclass
class Tokens:
    """A request with its files, numbers, notes and time signatures replaced by placeholder words."""

    text: str
    files: dict[str, str] = field(default_factory=dict)  # placeholder → the reference as typed
    numbers: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    originals: dict[str, str] = field(default_factory=dict)  # placeholder → the text it replaced

    def restore(self, text: str) -> str:
        """Words captured by a wildcard, with the placeholders put back as they were typed."""
        return _PLACEHOLDER.sub(lambda m: self.originals.get(m.group(0), m.group(0)), text)

    def has_placeholder(self, text: str) -> bool:
        return _PLACEHOLDER.search(text) is not None


def tokenize(request: str) -> Tokens:
    tokens = Tokens("")
    text = _SPOKEN_DOT.sub(r"\1.\2", " ".join(request.split()))
    text = _POSSESSIVE_TRACK.sub(r"\1s ", text)

    def put(kind: str, table: dict, value, original: str) -> str:
        name = _name(kind, len(table))
        table[name] = value
        tokens.originals[name] = original
        return f" {name} "

    text = _FILE.sub(lambda m: put("file", tokens.files, m.group(1), m.group(1)), text)
    text = _NOTES.sub(lambda m: put("notes", tokens.notes, _notes(m.group(1)), m.group(1)), text)
    text = _SIGNATURE.sub(
        lambda m: put("sig", tokens.signatures, f"{int(m.group(1))}/{int(m.group(2))}", m.group(0)), text
    )
    text = _GLUED.sub(lambda m: " " + m.group(1), _HEARD_UNIT.sub(" bpm", text))

    def number(m: re.Match) -> str:
        value = float(m.group(2))
        if m.group(1):
            value = -value
        return put("num", tokens.numbers, int(value) if value.is_integer() else value, m.group(0))

    text = _NUMBER.sub(number, text)
    text = _HEARD_TWO.sub("two", text)
    text = _NUMBER_WORD.sub(
        lambda m: put("num", tokens.numbers, _WORDS[m.group(2).lower()] * (-1 if m.group(1) else 1), m.group(0)), text
    )
    tokens.text = " ".join(text.split())
    return tokens


def _notes(text: str) -> str:
    """ "E4:1, G4:1 and A4:2" → "E4:1 G4:1 A4:2" (sing's notation)."""
    return " ".join(re.findall(r"(?:[A-G][#b]?\d|r):\d+(?:\.\d+)?", text))
