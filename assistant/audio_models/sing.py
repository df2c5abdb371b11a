"""sing: a score (notes, lengths, lyrics) → a singing voice.

No singing-voice model can be had offline, so this is speech synthesis bent into song (signal
processing): espeak-ng speaks each word of the lyrics, WORLD (pyworld) analyses it into pitch,
spectral envelope and aperiodicity, the vowel is stretched to the note's length (consonants keep
their natural length), the pitch is replaced by the score's (with a gentle vibrato on long notes and
a short glide between notes), and WORLD resynthesises it.

Score format: notes as NAME+OCTAVE:BEATS separated by spaces, e.g. "C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2",
"r:1" for a rest. Lyrics: one syllable per note; hyphenate a word to spread it over notes
("twin-kle twin-kle lit-tle star"); fewer syllables than notes hold the last vowel (a melisma).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import EarshotError
from .base import ToolContext, ToolResult, ToolSpec

RATE_HZ = 22050  # espeak-ng's own rate
FRAME_MS = 5.0  # WORLD frame period
VOICES = {"female": "en-us+f3", "male": "en-us+m3"}
SPEAK_WPM = 110  # slow speech: longer, steadier vowels to stretch
VIBRATO_HZ = 5.5
VIBRATO_CENTS = 18.0  # ± depth, reached 0.3 s into a note …
VIBRATO_DELAY_S = 0.25  # … after this long a straight tone
GLIDE_S = 0.04  # pitch glide from the previous note
MAX_NOTES = 200
NOTE_RE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d)$")
PCS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


# The notation as a grammar for the planner: a model asked to sing a song it knows by name wrote its
# lyrics where the notes go, and repeated that on repair. Octaves 2–5 and lengths of 0.25–8.5 beats
# cover what a voice sings here; 48 notes (space-separated, 9 characters at most) fit in max_length.
_NOTE_GRAMMAR = '([A-G] [#b]? [2-5] | "r") ":" ([1-8] ".5"? | "0.5" | "0.25")'
NOTES_GRAMMAR = f'{_NOTE_GRAMMAR} (" " {_NOTE_GRAMMAR}){{0,47}}'


@dataclass
class Args:
    # Checked again when the plan is validated (the range of the voice), so a slip goes back to the
    # planner with the error for its repair attempt instead of failing the step.
    notes: str = field(
        metadata={
            "max_length": 440,
            "grammar": NOTES_GRAMMAR,
            "normalize": lambda text: checked_notes(text),
            "doc": 'notes as NAME+OCTAVE:BEATS, e.g. "C4:1 D4:1 E4:2 r:1" (r = rest)',
        }
    )
    lyrics: str = field(
        metadata={
            "max_length": 200,
            "doc": 'one syllable per note; hyphenate words over notes: "hap-py birth-day to you"',
        }
    )
    tempo_bpm: int = field(default=100, metadata={"min": 40, "max": 240})
    voice: Literal["female", "male"] = "female"


SPEC = ToolSpec(
    name="sing",
    doing="singing it",
    summary="sing lyrics to a melody (notes with lengths in beats) as a synthetic voice",
    examples=(
        'sing "twin-kle twin-kle lit-tle star" to C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2',
        "sing happy birthday",
        "make a male voice sing la la la on E4 G4 A4",
    ),
    method="signal processing: espeak-ng speech (formant synthesis) reshaped by WORLD vocoder (pyworld): "
    "pitch set to the score, vowels stretched to the note lengths",
    learned=False,
    licence="GPL-3.0 (espeak-ng) / MIT (pyworld, WORLD)",
    timeout_s=300,
    max_memory_mb=1024,
)


@dataclass(frozen=True)
class ScoreNote:
    midi: int | None  # None for a rest
    beats: float


def parse_notes(text: str) -> list[ScoreNote]:
    notes = []
    for tok in text.replace(",", " ").split():
        if ":" not in tok:
            raise EarshotError(f"note {tok!r} has no length", 'write notes as NAME+OCTAVE:BEATS, e.g. "C4:1"')
        name, beats_text = tok.rsplit(":", 1)
        try:
            beats = float(beats_text)
        except ValueError:
            raise EarshotError(
                f"note {tok!r}: {beats_text!r} is not a number of beats", 'e.g. "C4:1" or "G4:0.5"'
            ) from None
        if not 0 < beats <= 16:
            raise EarshotError(f"note {tok!r}: a note lasts between 0 and 16 beats", "")
        if name.lower() in ("r", "rest"):
            notes.append(ScoreNote(None, beats))
            continue
        m = NOTE_RE.match(name)
        if not m:
            raise EarshotError(f"{name!r} is not a note name", 'use names like C4, F#3, Bb4 (C4 is middle C)')
        pc = PCS[m.group(1).upper()] + {"#": 1, "b": -1, "": 0}[m.group(2)]
        midi = 12 * (int(m.group(3)) + 1) + pc
        if not 36 <= midi <= 84:
            raise EarshotError(f"{name} is outside the range a voice can sing here (C2–C6)", "move it an octave")
        notes.append(ScoreNote(midi, beats))
    if not notes:
        raise EarshotError("the score has no notes", 'e.g. "C4:1 D4:1 E4:2"')
    if len(notes) > MAX_NOTES:
        raise EarshotError(f"the score has {len(notes)} notes, over the {MAX_NOTES}-note limit", "split the song")
    return notes


def checked_notes(text: str) -> str:
    """The notes as written, if they parse (plan validation: a ValueError becomes PlanInvalid)."""
    try:
        parse_notes(text)
    except EarshotError as exc:
        raise ValueError(f"{exc.message}; {exc.hint}" if exc.hint else exc.message) from None
    return text


def syllables(lyrics: str) -> list[tuple[str, int, int]]:
    """(word, syllable index, syllable count) per syllable; "twin-kle" → 2 syllables of "twinkle"."""
    out = []
    for word in lyrics.split():
        parts = [p for p in word.split("-") if p]
        clean = re.sub(r"[^\w']", "", "".join(parts))
        if not clean:
            continue
        for i in range(len(parts)):
            out.append((clean, i, len(parts)))
    return out


# -- speech from espeak-ng -----------------------------------------------------------------------------
def speak_word(word: str, voice: str) -> np.ndarray:
    import soundfile as sf

    if shutil.which("espeak-ng") is None:
        raise EarshotError("espeak-ng is not installed", "apt-get install espeak-ng")
    with tempfile.TemporaryDirectory(prefix="earshot-sing-") as tmp:
        wav = Path(tmp) / "w.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(SPEAK_WPM), "-w", str(wav), word],
            check=True,
            capture_output=True,
            timeout=30,
        )
        x, rate = sf.read(str(wav), dtype="float64")
    if rate != RATE_HZ:
        from ..audio.files import resample

        x = resample(x.astype(np.float32), rate, RATE_HZ).astype(np.float64)
    idx = np.flatnonzero(np.abs(x) > 1e-3 * max(np.max(np.abs(x)), 1e-9))
    return x[idx[0] : idx[-1] + 1] if idx.size else x


def analyse(x: np.ndarray):
    """WORLD: (f0, spectral envelope, aperiodicity) at FRAME_MS."""
    import pyworld as pw

    f0, t = pw.dio(x, RATE_HZ, f0_floor=60.0, f0_ceil=600.0, frame_period=FRAME_MS)
    f0 = pw.stonemask(x, f0, t, RATE_HZ)
    sp = pw.cheaptrick(x, f0, t, RATE_HZ)
    ap = pw.d4c(x, f0, t, RATE_HZ)
    return f0, sp, ap


def split_syllables(f0: np.ndarray, sp: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Frame ranges of `count` syllables in one word: cut at the quietest frames between the loudest
    voiced stretches (syllable nuclei)."""
    n = len(f0)
    if count <= 1:
        return [(0, n)]
    energy = np.log(np.sum(sp, axis=1) + 1e-12)
    smooth = np.convolve(energy, np.ones(5) / 5, mode="same")
    bounds = [0]
    for k in range(1, count):
        lo, hi = int(n * (k - 0.5) / count), int(n * (k + 0.5) / count)
        bounds.append(lo + int(np.argmin(smooth[lo : max(hi, lo + 1)])))
    bounds.append(n)
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def fit_to_note(f0, sp, ap, frames: int, midi: int, prev_midi: int | None, hold_only: bool = False):
    """Stretch a syllable to `frames`: consonants before/after the voiced part keep their length
    (squeezed if the note is too short), the voiced part fills the rest; f0 follows the note."""
    voiced = np.flatnonzero(f0 > 0)
    n = len(f0)
    if voiced.size == 0:  # a syllable with no vowel (rare): hold its middle frame
        voiced = np.array([n // 2])
    v0, v1 = int(voiced[0]), int(voiced[-1]) + 1
    if hold_only:  # a melisma: only the vowel, held
        onset, coda = 0, 0
        src = np.arange(v0, v1)
    else:
        onset, coda = v0, n - v1
        src = None
    room = frames - onset - coda
    if room < max(4, frames // 3):  # short note: squeeze the consonants to a third of it in all
        scale = (frames * 2 / 3) / max(onset + coda, 1)
        onset, coda = int(onset * scale), int(coda * scale)
        room = frames - onset - coda
    if src is None:
        pre = np.linspace(0, v0 - 1, onset) if onset and v0 else np.zeros(0)
        mid = np.linspace(v0, v1 - 1, room)
        post = np.linspace(v1, n - 1, coda) if coda and v1 < n else np.zeros(0)
        index = np.concatenate([pre, mid, post])
    else:
        index = np.linspace(src[0], src[-1], frames)
    index = np.clip(np.round(index).astype(int), 0, n - 1)
    sp2, ap2 = sp[index], ap[index]
    is_voiced = f0[index] > 0
    is_voiced[onset : onset + room] = True  # the stretched vowel is voiced throughout
    t = np.arange(frames) * FRAME_MS / 1000
    target = 440.0 * 2 ** ((midi - 69) / 12)
    cents = np.zeros(frames)
    if prev_midi is not None:  # glide in from the previous note
        glide = np.clip(t / GLIDE_S, 0, 1)
        cents += (prev_midi - midi) * 100 * (1 - glide)
    depth = VIBRATO_CENTS * np.clip((t - VIBRATO_DELAY_S) / 0.1, 0, 1)
    cents += depth * np.sin(2 * np.pi * VIBRATO_HZ * np.maximum(t - VIBRATO_DELAY_S, 0))
    new_f0 = np.where(is_voiced, target * 2 ** (cents / 1200), 0.0)
    return new_f0, sp2, ap2


def sing_score(
    notes: list[ScoreNote], lyrics: str, tempo_bpm: float, voice: str, progress=None
) -> tuple[np.ndarray, list[str]]:
    """(audio at RATE_HZ, notes about the lyrics fit)."""
    import pyworld as pw

    sung = [n for n in notes if n.midi is not None]
    sylls = syllables(lyrics)
    if not sylls:
        raise EarshotError("the lyrics have no words", 'e.g. "la la la" or "hap-py birth-day"')
    remarks = []
    if len(sylls) > len(sung):
        raise EarshotError(
            f"the lyrics have {len(sylls)} syllables but the score has {len(sung)} sung notes",
            "add notes, remove words, or join syllables (no hyphen)",
        )
    if len(sylls) < len(sung):
        remarks.append(f"the last syllable is held over {len(sung) - len(sylls) + 1} notes")
    beat_s = 60.0 / tempo_bpm
    total_s = sum(n.beats for n in notes) * beat_s
    out = np.zeros(int((total_s + 0.5) * RATE_HZ))
    # Speak and analyse each word once; split into its syllables.
    cache: dict[str, list] = {}
    pieces = []
    for word, i, count in sylls:
        if word not in cache:
            f0, sp, ap = analyse(speak_word(word, voice))
            cache[word] = [(f0[a:b], sp[a:b], ap[a:b]) for a, b in split_syllables(f0, sp, count)]
        pieces.append(cache[word][min(i, len(cache[word]) - 1)])
    t = 0.0
    k = 0
    prev = None
    fade = int(0.01 * RATE_HZ)
    for j, note in enumerate(notes):
        dur = note.beats * beat_s
        if note.midi is not None:
            frames = max(4, int(round(dur * 1000 / FRAME_MS)))
            f0, sp, ap = pieces[min(k, len(pieces) - 1)]
            new_f0, sp2, ap2 = fit_to_note(f0, sp, ap, frames, note.midi, prev, hold_only=k >= len(pieces))
            y = pw.synthesize(new_f0, np.ascontiguousarray(sp2), np.ascontiguousarray(ap2), RATE_HZ, FRAME_MS)
            if len(y) > 2 * fade:
                y[:fade] *= np.linspace(0, 1, fade)
                y[-fade:] *= np.linspace(1, 0, fade)
            a = int(round(t * RATE_HZ))
            b = min(len(out), a + len(y))
            out[a:b] += y[: b - a]
            prev = note.midi
            k += 1
        else:
            prev = None
        t += dur
        if progress:
            progress((j + 1) / len(notes))
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= 0.9 / peak
    return out[: int(total_s * RATE_HZ) + fade].astype(np.float32), remarks


def run(args: Args, ctx: ToolContext) -> ToolResult:
    notes = parse_notes(args.notes)
    audio, remarks = sing_score(
        notes, args.lyrics, args.tempo_bpm, VOICES[args.voice], lambda f: ctx.progress(0.95 * f, "singing")
    )
    words = re.sub(r"\s+", " ", args.lyrics.replace("-", "")).strip()
    slug = re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")[:24] or "song"
    art = ctx.new_audio_artifact(
        audio,
        RATE_HZ,
        f"sung-{slug}",
        meta={"notes": args.notes, "lyrics": args.lyrics, "tempo_bpm": args.tempo_bpm, "voice": args.voice},
    )
    ctx.progress(1.0, "done")
    sung = sum(1 for n in notes if n.midi is not None)
    summary = (
        f'Sang "{words}" ({sung} notes at {args.tempo_bpm} BPM, {args.voice} voice) → {art.name} '
        f"({art.duration_s:.1f} s), with espeak-ng speech reshaped by the WORLD vocoder (signal processing, "
        "not a learned singing model)" + (f"; {'; '.join(remarks)}" if remarks else "") + "."
    )
    return ToolResult(summary, [art], {"notes": sung, "tempo_bpm": args.tempo_bpm})
