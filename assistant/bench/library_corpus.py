"""A generated sample library with known ground truth (for `earshot bench library` and the tests).

Every file is made by a real tool, never by the analysers it will be scored against:

    chords/          sox plucked triads, I-IV-V-I (major) or i-iv-V-i (minor), one chord strike per beat:
                     known key and tempo
    loops/           MIDI written with pretty_midi, rendered by fluidsynth with the FluidR3 General MIDI
                     soundfont: piano, organ, strings, bass lines and drum kits at a known tempo (and key)
    interviews/      espeak-ng sentences with known keywords ("budget", "festival", …)
    vocal-takes/     the same, other voices
    one-shots/       sox kicks (sine sweeps), snares (noise bursts) and hi-hats (high-passed noise)
    field-recordings/ sox brown/pink noise with slow tremolo (wind, rumble): ambience
    takes/           clipped tones (driven past full scale) and silent files
    broken/          files that are not audio (an error row each, never a stopped scan)

`make_library(root, n_files)` writes the files and `ground-truth.json` (not audio: never scanned).
File names say nothing about their content; folders are how a studio would sort such a library.
"""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RATE_HZ = 22_050
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
KEYWORDS = (
    "budget",
    "festival",
    "microphone",
    "contract",
    "weather",
    "guitar",
    "deadline",
    "studio",
    "holiday",
    "marketing",
    "orchestra",
    "television",
)
TEMPLATES = (
    "We need to talk about the {0} before the {1} next week.",
    "The {0} was fine, but nobody mentioned the {1}.",
    "Please send me the notes on the {0} and the {1}.",
    "I think the {0} matters more than the {1} this year.",
)
VOICES = ("en-us", "en", "en-us+m3", "en+f3", "en-us+f4", "en+m7")
# category → share of the library (the rest of n_files goes to chords)
SHARES = {
    "loops": 0.15,
    "speech": 0.22,
    "one-shots": 0.15,
    "ambience": 0.08,
    "clipped": 0.05,
    "silent": 0.05,
    "broken": 0.01,
}
MIDI_INSTRUMENTS = {  # name → (GM program, is_drum, family the tag reports, octave)
    "piano": (0, False, "plucked", 4),
    "organ": (19, False, "sustained", 4),
    "strings": (48, False, "sustained", 4),
    "bass": (33, False, "bass", 2),
    "drums": (0, True, "drums", 0),
}


@dataclass
class Truth:
    """What a generated file is, as its generator made it."""

    path: str  # relative to the library root
    category: str
    key: str | None = None  # "D minor"
    tempo_bpm: float | None = None
    instrument: str | None = None  # piano, organ, strings, bass, drums, kick, snare, hat
    family: str | None = None  # the tag family it belongs to (drums, bass, plucked, sustained)
    key_ambiguous: bool = False  # a bass line of roots: the tonic is played, the mode is not
    words: list[str] = field(default_factory=list)
    text: str = ""
    speech: bool = False
    music: bool = False
    clipping: bool = False
    silent: bool = False
    unreadable: bool = False
    duration_s: float = 0.0


def _sox(*args: str) -> None:
    subprocess.run(["sox", *args], check=True, capture_output=True)


def _freq(midi: int) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


def _triads(tonic: int, mode: str) -> list[list[int]]:
    """MIDI notes of I-IV-V-I (major) or i-iv-V-i (minor) in root position around octave 4."""
    third = 3 if mode == "minor" else 4
    base = 60 + tonic
    i = [base, base + third, base + 7]
    iv = [base + 5, base + 5 + third, base + 12]
    v = [base + 7, base + 11, base + 14]  # V is major in both (the leading tone)
    return [i, iv, v, i]


def _chords(path: Path, rng: random.Random) -> Truth:
    tonic, mode = rng.randrange(12), rng.choice(("major", "minor"))
    bpm = rng.randrange(90, 141)
    beat = 60.0 / bpm
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for n, chord in enumerate(_triads(tonic, mode)):
            part = Path(tmp) / f"{n}.wav"
            tones = [x for m in chord for x in ("pluck", f"{_freq(m):.2f}")]
            _sox("-n", "-r", str(RATE_HZ), "-c", "1", str(part), "synth", f"{beat:.5f}", *tones, "remix", "-")
            parts += [str(part)] * 3  # three strikes of each chord
        _sox(*parts, str(path), "norm", "-6")
    return Truth(
        "", "chords", f"{NOTE_NAMES[tonic]} {mode}", float(bpm), "plucked synth", "plucked", music=True,
        duration_s=12 * beat,
    )  # fmt: skip


def _loop(path: Path, rng: random.Random, instrument: str) -> Truth:
    import pretty_midi

    program, is_drum, family, octave = MIDI_INSTRUMENTS[instrument]
    tonic, mode = rng.randrange(12), rng.choice(("major", "minor"))
    bpm = rng.randrange(90, 141)
    beat = 60.0 / bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=bpm)
    inst = pretty_midi.Instrument(program=program, is_drum=is_drum)
    beats = 12
    for b in range(beats):
        t = b * beat
        if is_drum:
            notes = [36 if b % 2 == 0 else 38, 42]  # kick / snare on alternate beats, hi-hat on each
            length = 0.1
        elif instrument == "bass":
            chord = _triads(tonic, mode)[b // 3]
            notes = [chord[0] - 12 * (4 - octave)]
            length = 0.8 * beat
        else:
            notes = _triads(tonic, mode)[b // 3]
            length = 0.9 * beat
        for m in notes:
            inst.notes.append(pretty_midi.Note(velocity=100, pitch=int(m), start=t, end=t + length))
    pm.instruments.append(inst)
    with tempfile.TemporaryDirectory() as tmp:
        mid, raw = Path(tmp) / "loop.mid", Path(tmp) / "raw.wav"
        pm.write(str(mid))
        subprocess.run(
            ["fluidsynth", "-ni", "-g", "1.0", "-r", str(RATE_HZ), "-F", str(raw), str(SOUNDFONT), str(mid)],
            check=True,
            capture_output=True,
        )
        _sox(str(raw), str(path), "trim", "0", f"{beats * beat:.4f}", "norm", "-3")
    tonal = not is_drum
    return Truth(
        "", "loops", f"{NOTE_NAMES[tonic]} {mode}" if tonal and instrument != "bass" else None, float(bpm),
        instrument, family, key_ambiguous=instrument == "bass", music=True, duration_s=beats * beat,
    )  # fmt: skip


def _speech(path: Path, rng: random.Random) -> Truth:
    words = rng.sample(KEYWORDS, 2)
    text = rng.choice(TEMPLATES).format(*words)
    voice = rng.choice(VOICES)
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(rng.randrange(140, 171)), "-w", str(raw), text],
            check=True,
            capture_output=True,
        )
        _sox(str(raw), "-r", str(RATE_HZ), str(path))
    return Truth("", "speech", words=sorted(words), text=text, speech=True)


def _one_shot(path: Path, rng: random.Random, kind: str) -> Truth:
    rate = ["-r", str(RATE_HZ), "-c", "1"]
    if kind == "kick":
        length = rng.uniform(0.3, 0.5)
        sweep = f"{rng.randrange(110, 181)}:{rng.randrange(35, 56)}"
        _sox("-n", *rate, str(path), "synth", f"{length:.3f}", "sine", sweep, "fade", "0", f"{length:.3f}", "0.25")
    elif kind == "snare":
        length = rng.uniform(0.15, 0.3)
        _sox(
            "-n", *rate, str(path), "synth", f"{length:.3f}", "pinknoise", "bandpass", str(rng.randrange(1500, 3000)),
            "1.5q", "fade", "0", f"{length:.3f}", f"{0.8 * length:.3f}", "norm", "-3",
        )  # fmt: skip
    else:
        length = rng.uniform(0.05, 0.12)
        _sox(
            "-n", *rate, str(path), "synth", f"{length:.3f}", "whitenoise", "highpass", str(rng.randrange(6000, 9000)),
            "fade", "0", f"{length:.3f}", f"{0.8 * length:.3f}", "norm", "-6",
        )  # fmt: skip
    family = "drums"
    return Truth("", "one-shots", instrument=kind, family=family, music=False, duration_s=length)


def _ambience(path: Path, rng: random.Random) -> Truth:
    length = rng.uniform(3.0, 5.0)
    colour = rng.choice(("whitenoise", "pinknoise"))
    _sox(
        "-n", "-r", str(RATE_HZ), "-c", "1", str(path), "synth", f"{length:.2f}", colour, "tremolo",
        f"{rng.uniform(0.2, 0.6):.2f}", "40", "sinc", f"{rng.randrange(100, 300)}-{rng.randrange(4000, 9000)}",
        "norm", f"-{rng.randrange(12, 24)}",
    )  # fmt: skip
    return Truth("", "ambience", duration_s=length)


def _clipped(path: Path, rng: random.Random) -> Truth:
    """A tone or chord recorded too hot: sox makes it, the "converter" clips it at full scale (PCM 16)."""
    import numpy as np
    import soundfile as sf

    length = 1.5
    tones = [x for m in rng.sample(range(48, 72), rng.randrange(1, 4)) for x in ("sine", f"{_freq(m):.2f}")]
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        _sox("-n", "-r", str(RATE_HZ), "-c", "1", "-e", "float", str(raw), "synth", f"{length}", *tones, "remix", "-")
        y, rate = sf.read(str(raw), dtype="float64")
    drive = 10 ** (rng.uniform(6, 14) / 20) / max(float(np.max(np.abs(y))), 1e-9)
    sf.write(str(path), np.clip(y * drive, -1.0, 32767 / 32768), rate, subtype="PCM_16")
    return Truth("", "clipped", clipping=True, music=True, duration_s=length)


def _silent(path: Path, rng: random.Random) -> Truth:
    length = rng.uniform(1.0, 3.0)
    if rng.random() < 0.5:
        _sox("-n", "-r", str(RATE_HZ), "-c", "1", str(path), "trim", "0", f"{length:.2f}")
    else:  # a near-silent room: noise at about -80 dBFS
        _sox("-n", "-r", str(RATE_HZ), "-c", "1", str(path), "synth", f"{length:.2f}", "whitenoise", "vol", "0.0001")
    return Truth("", "silent", silent=True, duration_s=length)


def _broken(path: Path, rng: random.Random) -> Truth:
    path.write_bytes(rng.randbytes(rng.randrange(20, 4000)))
    return Truth("", "broken", unreadable=True)


def plan_library(n_files: int, seed: int = 0) -> list[tuple[str, str]]:
    """(relative path, recipe) for every file, deterministic for (n_files, seed)."""
    rng = random.Random(seed)
    counts = {k: max(1, round(v * n_files)) for k, v in SHARES.items()}
    counts["chords"] = max(1, n_files - sum(counts.values()))
    jobs: list[tuple[str, str]] = []
    for i in range(counts["chords"]):
        jobs.append((f"chords/idea-{i:04d}.wav", "chords"))
    names = list(MIDI_INSTRUMENTS)
    for i in range(counts["loops"]):
        inst = names[i % len(names)]
        jobs.append((f"loops/loop-{i:04d}.wav", f"loop:{inst}"))
    for i in range(counts["speech"]):
        folder = "vocal-takes" if i % 4 == 3 else "interviews"
        jobs.append((f"{folder}/clip-{i:04d}.wav", "speech"))
    kinds = ("kick", "snare", "hat")
    for i in range(counts["one-shots"]):
        jobs.append((f"one-shots/hit-{i:04d}.wav", f"oneshot:{kinds[i % 3]}"))
    for i in range(counts["ambience"]):
        jobs.append((f"field-recordings/rec-{i:04d}.wav", "ambience"))
    for i in range(counts["clipped"]):
        jobs.append((f"takes/take-c{i:04d}.wav", "clipped"))
    for i in range(counts["silent"]):
        jobs.append((f"takes/take-s{i:04d}.wav", "silent"))
    for i in range(counts["broken"]):
        jobs.append((f"broken/file-{i:04d}.wav", "broken"))
    rng.shuffle(jobs)
    return jobs[:n_files] if len(jobs) > n_files else jobs


def _make_one(root: Path, rel: str, recipe: str, seed: int) -> Truth:
    rng = random.Random(f"{seed}:{rel}")
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    kind, _, arg = recipe.partition(":")
    maker = {
        "chords": lambda: _chords(path, rng),
        "loop": lambda: _loop(path, rng, arg),
        "speech": lambda: _speech(path, rng),
        "oneshot": lambda: _one_shot(path, rng, arg),
        "ambience": lambda: _ambience(path, rng),
        "clipped": lambda: _clipped(path, rng),
        "silent": lambda: _silent(path, rng),
        "broken": lambda: _broken(path, rng),
    }[kind]
    truth = maker()
    truth.path = rel
    return truth


def make_library(root: Path, n_files: int, seed: int = 0, workers: int = 2, progress=None) -> list[Truth]:
    """Write a library of `n_files` files under root, plus root/ground-truth.json. A root that already
    holds the library of the same size and seed is kept as it is (the bench re-runs on it)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    truth_file = root / "ground-truth.json"
    if truth_file.is_file():
        data = json.loads(truth_file.read_text(encoding="utf-8"))
        if (
            data.get("seed") == seed
            and len(data["files"]) == n_files
            and all((root / t["path"]).is_file() for t in data["files"])
        ):
            return [Truth(**t) for t in data["files"]]
    jobs = plan_library(n_files, seed)
    truths: list[Truth] = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = [pool.submit(_make_one, root, rel, recipe, seed) for rel, recipe in jobs]
        for n, fut in enumerate(futures, 1):
            truths.append(fut.result())
            if progress:
                progress(n, len(jobs))
    (root / "ground-truth.json").write_text(
        json.dumps({"seed": seed, "files": [asdict(t) for t in truths]}, indent=1), encoding="utf-8"
    )
    return truths


def load_truth(root: Path) -> list[Truth]:
    data = json.loads((Path(root) / "ground-truth.json").read_text(encoding="utf-8"))
    return [Truth(**t) for t in data["files"]]
