"""The compact score format of the compose tool: its grammar, parsing, MIDI (pretty_midi) and rendering
(fluidsynth with the General MIDI soundfont). The planner's language model writes the score (compose.py).

The score format (what the model writes; the grammar makes anything else impossible):

    lead: piano                 instrument of the melody   (one of INSTRUMENTS)
    chords: strings             instrument of the chords
    style: arpeggio             how the chords are played  (pulse | arpeggio): both mark the beat, so
                                the tempo can be heard (sustained chords leave it ambiguous)
    bass: electric              bass on the chord roots    (none | acoustic | electric | synth)
    drums: rock                 drum pattern               (none | soft | rock | four)
    1: I | 3:2 2:1 1:1 5:4      bar: chord as a scale degree | melody notes
    2: VI | ...

Melody notes are scale degrees `1`–`7` of the key (`'` an octave up, `,` an octave down, `r` a rest)
with a length in eighth notes after the colon; the grammar makes every bar add up to 4/4 exactly,
makes the first and last chords the tonic with a dominant before the last, keeps the tonic out of
the middle of a phrase, and writes exactly the asked number of bars. Instruments, drums and bass that
the request names are fixed in the grammar too. Writing
degrees instead of note names keeps every note in the key; the key, tempo and bar count the user
asked for are fixed by the tool, never left to the model. In minor keys the V chord takes the raised
leading tone (harmonic minor), as in common practice.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import EarshotError

SOUNDFONTS = (Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"), Path("/usr/share/sounds/sf2/default-GM.sf2"))
RENDER_RATE_HZ = 44100
TARGET_PEAK_DBFS = -1.0
DEFAULT_BARS = 8
ARPEGGIO_EIGHTHS_BPM = 96  # slower than this, arpeggios move in quarter notes (see score_to_midi)
TOKENS_PER_BAR = 40  # the most a bar of eighth notes takes, with headroom

NOTE_PCS = {
    "C": 0,
    "C#": 1,
    "DB": 1,
    "D": 2,
    "D#": 3,
    "EB": 3,
    "E": 4,
    "F": 5,
    "F#": 6,
    "GB": 6,
    "G": 7,
    "G#": 8,
    "AB": 8,
    "A": 9,
    "A#": 10,
    "BB": 10,
    "B": 11,
    "CB": 11,
    "E#": 5,
    "FB": 4,
    "B#": 0,
}
KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
INSTRUMENTS = {
    "piano": 0,
    "electric piano": 4,
    "harpsichord": 6,
    "vibraphone": 11,
    "marimba": 12,
    "organ": 19,
    "guitar": 24,
    "steel guitar": 25,
    "electric guitar": 27,
    "strings": 48,
    "slow strings": 49,
    "choir": 52,
    "trumpet": 56,
    "brass": 61,
    "saxophone": 65,
    "oboe": 68,
    "clarinet": 71,
    "flute": 73,
    "synth lead": 81,
    "warm pad": 89,
    "bells": 14,
    "harp": 46,
}
BASSES = {"acoustic": 32, "electric": 33, "synth": 38}
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII")
DURATIONS = (1, 2, 3, 4, 6, 8)  # in eighth notes
BAR_EIGHTHS = 8
MAX_NOTES_PER_BAR = 5


# -- key and score ---------------------------------------------------------------------------------
def parse_key(text: str) -> tuple[int, str]:
    """ "D minor" / "Dm" / "d min" / "F# major" / "E flat minor" / "Bb" → (pitch class, mode)."""
    t = text.strip().replace("♭", "b").replace("♯", "#")
    t = re.sub(r"\s+flat\b", "b", t, flags=re.I)
    t = re.sub(r"\s+sharp\b", "#", t, flags=re.I)
    m = re.fullmatch(r"([A-Ga-g])([#b]?)\s*(major|maj|minor|min|m)?", t, flags=re.I)
    if not m:
        raise EarshotError(f"{text!r} is not a key I can read", 'write it like "D minor", "F# major" or "Bb"')
    name = (m.group(1) + m.group(2)).upper()
    mode_word = m.group(3) or "major"
    mode = "minor" if mode_word.lower() in ("minor", "min") or mode_word == "m" else "major"
    return NOTE_PCS[name], mode


def key_name(pc: int, mode: str) -> str:
    return f"{KEY_NAMES[pc]} {mode}"


@dataclass
class Score:
    key_pc: int
    mode: str
    tempo_bpm: int
    lead: str
    chords: str
    style: str
    bass: str
    drums: str
    bars: list[tuple[int, list[tuple[str, int]]]]  # (chord degree 0..6, [(pitch token, eighths)])


def _bar_rules() -> list[str]:
    """GBNF rules m<n>-<k>: at most k notes lasting exactly n eighths. A bar is m8-5: at most five
    notes, so a bar is a phrase, not a run of eighths (which a small model fills with one note).
    (llama.cpp rule names are letters, digits and '-': an '_' makes the grammar fail to parse.)"""
    rules: dict[str, str] = {}
    for k in range(1, MAX_NOTES_PER_BAR + 1):
        for n in range(1, BAR_EIGHTHS + 1):
            alts = []
            for d in DURATIONS:
                if d == n:
                    alts.append(f'note ":{d}"')
                elif d < n and f"m{n - d}-{k - 1}" in rules:  # only rules that exist (no m5-1: no 5/8 note)
                    alts.append(f'note ":{d}" " " m{n - d}-{k - 1}')
            if alts:
                rules[f"m{n}-{k}"] = " | ".join(alts)
    return [f"{name} ::= {body}" for name, body in rules.items()]


STYLES = ("pulse", "arpeggio")
BASS_CHOICES = ("none", "acoustic", "electric", "synth")
DRUM_CHOICES = ("none", "soft", "rock", "four")
# Words of a request that fix a header field (the user said it, so the model may not choose otherwise).
INSTRUMENT_WORDS = {
    "piano": "piano",
    "keys": "piano",
    "electric piano": "electric piano",
    "rhodes": "electric piano",
    "harpsichord": "harpsichord",
    "vibraphone": "vibraphone",
    "vibes": "vibraphone",
    "marimba": "marimba",
    "organ": "organ",
    "guitar": "guitar",
    "acoustic guitar": "steel guitar",
    "electric guitar": "electric guitar",
    "strings": "strings",
    "violin": "strings",
    "violins": "strings",
    "cello": "slow strings",
    "choir": "choir",
    "voices": "choir",
    "trumpet": "trumpet",
    "brass": "brass",
    "sax": "saxophone",
    "saxophone": "saxophone",
    "oboe": "oboe",
    "clarinet": "clarinet",
    "flute": "flute",
    "synth": "synth lead",
    "pad": "warm pad",
    "pads": "warm pad",
    "bells": "bells",
    "harp": "harp",
}


def request_constraints(description: str) -> dict[str, tuple[str, ...]]:
    """Header fields the request itself fixes: named instruments (first → lead, second → chords; one
    alone plays both unless the model may add a second), drums and bass asked for or refused."""
    text = " " + re.sub(r"[^a-z ]+", " ", description.lower()) + " "
    found: list[tuple[int, int, str]] = []  # (start, end, word), longest words first
    for word in sorted(INSTRUMENT_WORDS, key=len, reverse=True):
        for m in re.finditer(f"(?<= ){word}(?= )", text):
            if not any(a < m.end() and m.start() < b for a, b, _ in found):
                found.append((m.start(), m.end(), word))
    named = []
    for _, _, word in sorted(found):
        if INSTRUMENT_WORDS[word] not in named:
            named.append(INSTRUMENT_WORDS[word])
    out: dict[str, tuple[str, ...]] = {}
    if named:
        out["lead"] = (named[0],)
        out["chords"] = (named[1],) if len(named) > 1 else (named[0],)
    if re.search(r" (no|without|minus) (the )?(drums|percussion|beat) ", text):
        out["drums"] = ("none",)
    elif re.search(r" (drums?|drummer|beat|groove|percussion|dance|rock) ", text):
        out["drums"] = DRUM_CHOICES[1:]
    if re.search(r" (no|without) (the )?bass ", text):
        out["bass"] = ("none",)
    elif re.search(r" bass(line)? ", text):
        out["bass"] = BASS_CHOICES[1:]
    return out


def score_grammar(
    bars: int, key_given: bool, tempo_given: bool, fixed: dict[str, tuple[str, ...]] | None = None
) -> str:
    """GBNF of a score with exactly `bars` bars (tonic first and last); `fixed` narrows header fields."""

    def choice(values) -> str:
        return " | ".join(f'"{v}"' for v in values)

    fixed = fixed or {}

    def field_rule(name: str, values) -> str:
        allowed = [v for v in values if v in fixed.get(name, values)] or list(values)
        return f'"{name}: " ({choice(allowed)}) "\\n"'

    header = []
    if not key_given:
        header.append('"key: " keyname " " ("major" | "minor") "\\n"')
    if not tempo_given:
        header.append('"tempo: " tempo "\\n"')
    header += [
        field_rule("lead", INSTRUMENTS),
        field_rule("chords", INSTRUMENTS),
        field_rule("style", STYLES),
        field_rule("bass", BASS_CHOICES),
        field_rule("drums", DRUM_CHOICES),
    ]
    lines = [f"root ::= {' '.join(header)} " + " ".join(f"bar{i}" for i in range(1, bars + 1))]
    for i in range(1, bars + 1):
        # Tonic first and last, a dominant before the last (the cadence that states the key), other
        # chords elsewhere, the tonic again only where a 4-bar phrase starts: no bar-after-bar "I".
        if i in (1, bars):
            chord = '"I"'
        elif i == bars - 1:
            chord = '"V"'
        elif i % 4 == 1:
            chord = "chord"
        else:
            chord = "moving"
        lines.append(f'bar{i} ::= "{i}: " {chord} " | " m{BAR_EIGHTHS}-{MAX_NOTES_PER_BAR} "\\n"')
    lines += [
        f"chord ::= {choice(ROMAN)}",
        f"moving ::= {choice(ROMAN[1:])}",
        'note ::= ([1-7] ("\'" | ",")?) | "r"',
        f"keyname ::= {choice(KEY_NAMES)}",
        'tempo ::= [6-9] [0-9] | "1" [0-7] [0-9]',
    ]
    lines += _bar_rules()
    return "\n".join(lines) + "\n"


def parse_score(text: str, key_pc: int | None, mode: str | None, tempo_bpm: int | None) -> Score:
    """The model's text → Score. The grammar guarantees the shape; this re-checks it anyway."""
    fields_: dict[str, str] = {}
    bars: list[tuple[int, list[tuple[str, int]]]] = []
    for line in text.strip().splitlines():
        if m := re.fullmatch(r"(\d+): (I|II|III|IV|V|VI|VII) \| (.+)", line.strip()):
            notes = []
            for tok in m.group(3).split():
                pitch, dur = tok.rsplit(":", 1)
                notes.append((pitch, int(dur)))
            if sum(d for _, d in notes) != BAR_EIGHTHS:
                raise EarshotError(f"bar {m.group(1)} of the score does not fill 4/4", "ask again")
            bars.append((ROMAN.index(m.group(2)), notes))
        elif ":" in line:
            k, v = line.split(":", 1)
            fields_[k.strip()] = v.strip()
    if key_pc is None:
        key_pc, mode = parse_key(fields_["key"])
    if tempo_bpm is None:
        tempo_bpm = int(fields_["tempo"])
    return Score(
        key_pc,
        mode or "major",
        tempo_bpm,
        fields_["lead"],
        fields_["chords"],
        fields_["style"],
        fields_["bass"],
        fields_["drums"],
        bars,
    )


# -- score → MIDI ------------------------------------------------------------------------------------
def _scale(mode: str) -> tuple[int, ...]:
    return MINOR if mode == "minor" else MAJOR


def degree_pitch(tonic_midi: int, mode: str, degree: int, octave: int = 0) -> int:
    steps = _scale(mode)
    return tonic_midi + steps[degree % 7] + 12 * (degree // 7 + octave)


def chord_pitches(tonic_midi: int, mode: str, degree: int) -> list[int]:
    """Diatonic triad on a degree, root position; V in minor gets the raised leading tone."""
    notes = [degree_pitch(tonic_midi, mode, degree + k) for k in (0, 2, 4)]
    if mode == "minor" and degree == 4:
        notes[1] += 1
    return notes


def score_to_midi(score: Score):
    import pretty_midi

    beat = 60.0 / score.tempo_bpm
    eighth = beat / 2
    bar_s = 4 * beat
    tonic = 60 + score.key_pc  # melody around C4..B4 (+ octave marks)
    if tonic > 66:
        tonic -= 12
    pm = pretty_midi.PrettyMIDI(initial_tempo=float(score.tempo_bpm))
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    lead = pretty_midi.Instrument(program=INSTRUMENTS[score.lead], name=f"lead ({score.lead})")
    chords = pretty_midi.Instrument(program=INSTRUMENTS[score.chords], name=f"chords ({score.chords})")
    tracks = [lead, chords]
    bass = drums = None
    if score.bass != "none":
        bass = pretty_midi.Instrument(program=BASSES[score.bass], name=f"bass ({score.bass})")
        tracks.append(bass)
    if score.drums != "none":
        drums = pretty_midi.Instrument(program=0, is_drum=True, name=f"drums ({score.drums})")
        tracks.append(drums)
    for b, (degree, notes) in enumerate(score.bars):
        t0 = b * bar_s
        pos = 0
        for pitch, dur in notes:
            if pitch != "r":
                octave = 1 if pitch.endswith("'") else -1 if pitch.endswith(",") else 0
                midi = degree_pitch(tonic, score.mode, int(pitch[0]) - 1, octave) + 12
                start = t0 + pos * eighth
                lead.notes.append(pretty_midi.Note(92, midi, start, start + dur * eighth * 0.95))
            pos += dur
        triad = [p - 12 for p in chord_pitches(tonic, score.mode, degree)]
        if score.style == "pulse":
            for q in range(4):
                s = t0 + q * beat
                for p in triad:
                    chords.notes.append(pretty_midi.Note(80 if q == 0 else 64, p, s, s + beat * 0.8))
        else:  # arpeggio: root-third-fifth-octave up and back, accented on the beats
            pattern = [triad[0], triad[1], triad[2], triad[0] + 12, triad[2], triad[1], triad[2], triad[1]]
            # Below ARPEGGIO_EIGHTHS_BPM the broken chord moves in quarter notes: slow eighths form a
            # pulse at twice the tempo, which is what a listener (and a beat tracker) then taps.
            step = 1 if score.tempo_bpm >= ARPEGGIO_EIGHTHS_BPM else 2
            for e in range(0, 8, step):
                p = pattern[e if step == 1 else e // 2]
                s = t0 + e * eighth
                chords.notes.append(
                    pretty_midi.Note(82 if e == 0 else 70 if e % 2 == 0 else 56, p, s, s + step * eighth * 1.5)
                )
        if bass is not None:
            root = triad[0] - 12
            for half in (0, 1):
                s = t0 + half * 2 * beat
                bass.notes.append(pretty_midi.Note(96, root, s, s + 2 * beat * 0.9))
        if drums is not None:
            for e in range(8):
                s = t0 + e * eighth
                hits = []
                if score.drums == "soft":
                    hits = [(36, 70)] if e == 0 else [(37, 45)] if e == 4 else []
                    if e % 2 == 0:
                        hits.append((42, 40))
                elif score.drums == "rock":
                    hits = [(42, 60)] + ([(36, 100)] if e in (0, 4) else []) + ([(38, 96)] if e in (2, 6) else [])
                elif score.drums == "four":
                    hits = ([(36, 105)] if e % 2 == 0 else [(42, 70)]) + ([(39, 80)] if e in (2, 6) else [])
                for note, vel in hits:
                    drums.notes.append(pretty_midi.Note(vel, note, s, s + 0.1))
    pm.instruments += tracks
    return pm


# -- rendering ---------------------------------------------------------------------------------------
def soundfont() -> Path:
    for sf2 in SOUNDFONTS:
        if sf2.is_file():
            return sf2
    raise EarshotError(
        "no General MIDI soundfont found (looked for " + ", ".join(map(str, SOUNDFONTS)) + ")",
        "install it: apt-get install fluid-soundfont-gm",
    )


def render(midi_bytes: bytes, rate: int = RENDER_RATE_HZ) -> np.ndarray:
    """fluidsynth renders the MIDI (stereo float32), peak-normalised to TARGET_PEAK_DBFS."""
    import soundfile as sf

    if shutil.which("fluidsynth") is None:
        raise EarshotError("fluidsynth is not installed", "apt-get install --no-install-recommends fluidsynth")
    with tempfile.TemporaryDirectory(prefix="earshot-compose-") as tmp:
        mid, wav = Path(tmp) / "score.mid", Path(tmp) / "score.wav"
        mid.write_bytes(midi_bytes)
        proc = subprocess.run(
            ["fluidsynth", "-ni", "-q", "-g", "1.0", "-F", str(wav), "-r", str(rate), str(soundfont()), str(mid)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0 or not wav.is_file():
            raise EarshotError(
                f"fluidsynth could not render the score ({proc.stderr.strip()[:200]})",
                "check the fluidsynth installation with `fluidsynth --version`",
            )
        audio, _ = sf.read(str(wav), dtype="float32", always_2d=True)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 0:
        raise EarshotError("the rendered score is silent", "ask again with other instruments")
    return audio * (10 ** (TARGET_PEAK_DBFS / 20) / peak)
