"""Signals for the music and analysis tool tests: synthetic tones and drums, MIDI files the tests write,
fluidsynth renderings of them, and scenes with events at known times.

Every builder returns the ground truth it used (notes, event times, sources), so a test can measure
against it. Nothing here is random without a fixed seed.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

# Scale steps (semitones above the tonic) for the keys the tests use.
MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


def midi_to_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def tonic_pc(key: str) -> int:
    """ "D" → 2, "F#" → 6, "Bb" → 10."""
    name = key[0].upper() + key[1:]
    flats = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}
    return NOTE_NAMES.index(flats.get(name, name))


# -- plain synthetic signals ---------------------------------------------------------------------
def harmonic_tone(
    freq_hz: float, duration_s: float, rate: int, harmonics: int = 6, attack_s: float = 0.02, release_s: float = 0.05
) -> np.ndarray:
    """A sustained tone with decaying harmonics and short fades (an organ-like note)."""
    t = np.arange(int(duration_s * rate)) / rate
    x = sum(
        (0.6 ** (k - 1)) * np.sin(2 * np.pi * freq_hz * k * t)
        for k in range(1, harmonics + 1)
        if freq_hz * k < rate / 2
    )
    env = np.ones_like(t)
    a, r = int(attack_s * rate), int(release_s * rate)
    env[:a] = np.linspace(0, 1, a)
    env[-r:] = np.linspace(1, 0, r)
    return (x * env).astype(np.float32)


def harmonic_track(
    rate: int, duration_s: float, notes_midi=(57, 60, 64, 62, 65, 69, 67, 64), note_s: float = 1.0
) -> np.ndarray:
    """Sustained notes one after another, each with a held lower fifth: the 'harmonic' stem."""
    out = np.zeros(int(duration_s * rate), np.float32)
    pos, i = 0, 0
    while pos < len(out):
        n = notes_midi[i % len(notes_midi)]
        tone = harmonic_tone(midi_to_hz(n), note_s, rate) + 0.5 * harmonic_tone(midi_to_hz(n - 7), note_s, rate)
        end = min(len(out), pos + len(tone))
        out[pos:end] += tone[: end - pos]
        pos += len(tone)
        i += 1
    return 0.3 * out / np.max(np.abs(out))


def kick(rate: int, seed: int = 0) -> np.ndarray:
    """A drum-machine kick: a fast downward pitch sweep with a click, 150 ms."""
    t = np.arange(int(0.15 * rate)) / rate
    freq = 50 + 100 * np.exp(-t / 0.02)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    click = np.random.default_rng(seed).standard_normal(len(t)) * np.exp(-t / 0.002)
    return (np.sin(phase) * np.exp(-t / 0.05) + 0.3 * click).astype(np.float32)


def snare(rate: int, seed: int = 1) -> np.ndarray:
    """Noise with a fast decay plus a short 190 Hz body, 120 ms."""
    t = np.arange(int(0.12 * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(len(t)) * np.exp(-t / 0.03)
    body = 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.02)
    return (0.5 * noise + body).astype(np.float32)


def hihat(rate: int, seed: int = 2) -> np.ndarray:
    """High-passed noise (first difference), 50 ms."""
    t = np.arange(int(0.05 * rate)) / rate
    noise = np.random.default_rng(seed).standard_normal(len(t) + 1)
    return (np.diff(noise) * 0.3 * np.exp(-t / 0.01)).astype(np.float32)


def drum_track(rate: int, duration_s: float, tempo_bpm: float = 120.0) -> np.ndarray:
    """Kick on beats 1 and 3, snare on 2 and 4, hi-hats on eighths: the 'percussive' stem."""
    out = np.zeros(int(duration_s * rate), np.float32)
    beat = 60.0 / tempo_bpm
    k, s, h = kick(rate), snare(rate), hihat(rate)
    n_eighths = int(duration_s / (beat / 2))
    for i in range(n_eighths):
        pos = int(i * beat / 2 * rate)
        hits = [h]
        if i % 4 == 0:
            hits.append(k)
        if i % 4 == 2:
            hits.append(s)
        for hit in hits:
            end = min(len(out), pos + len(hit))
            out[pos:end] += hit[: end - pos]
    return 0.3 * out / np.max(np.abs(out))


def noise_burst(rate: int, duration_s: float, level: float = 0.1, seed: int = 3) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(int(duration_s * rate)).astype(np.float32)
    ramp = min(len(x) // 2, int(0.005 * rate))
    x[:ramp] *= np.linspace(0, 1, ramp)
    x[-ramp:] *= np.linspace(1, 0, ramp)
    return level * x


def bark(rate: int, seed: int = 4) -> np.ndarray:
    """A dog-bark-like sound: two 150 ms bursts of pitched, noisy, band-limited energy."""
    from scipy.signal import butter, sosfilt

    def one(seed_: int) -> np.ndarray:
        t = np.arange(int(0.15 * rate)) / rate
        f0 = 500 - 250 * t / t[-1]
        tone = sum(np.sin(2 * np.pi * np.cumsum(f0 * k) / rate) / k for k in range(1, 6))
        noise = np.random.default_rng(seed_).standard_normal(len(t))
        env = np.minimum(1, t / 0.01) * np.exp(-t / 0.06)
        return ((0.7 * tone + 0.5 * noise) * env).astype(np.float32)

    gap = np.zeros(int(0.12 * rate), np.float32)
    x = np.concatenate([one(seed), gap, one(seed + 1)])
    sos = butter(4, [300, 4000], btype="band", fs=rate, output="sos")
    y = sosfilt(sos, x).astype(np.float32)
    return 0.5 * y / np.max(np.abs(y))


def place(out: np.ndarray, signal: np.ndarray, start_s: float, rate: int) -> tuple[float, float]:
    """Add `signal` into `out` at start_s; returns its (start_s, end_s)."""
    a = int(round(start_s * rate))
    b = min(len(out), a + len(signal))
    out[a:b] += signal[: b - a]
    return start_s, b / rate


def trimmed(audio: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Cut leading/trailing near-silence (espeak-ng pads its output)."""
    idx = np.flatnonzero(np.abs(audio) > threshold)
    return audio[idx[0] : idx[-1] + 1] if idx.size else audio


def read_mono(path: Path, rate: int) -> np.ndarray:
    import soundfile as sf
    import soxr

    x, r = sf.read(str(path), dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    return soxr.resample(x, r, rate).astype(np.float32) if r != rate else x


# -- MIDI the tests write, rendered with fluidsynth --------------------------------------------------
@dataclass(frozen=True)
class Note:
    pitch: int
    start_s: float
    end_s: float


def chord_progression_midi(
    path: Path, key: str, mode: str, tempo_bpm: float, bars: int = 8, drums: bool = True, program: int = 0
) -> list[Note]:
    """A song sketch in a known key and tempo: I–IV–V–I (i–iv–V–i in minor) block chords on every beat,
    a bass on the root, a stepwise melody in the scale, and (optionally) a rock drum beat. Returns the
    melody notes."""
    import pretty_midi

    tonic = 48 + tonic_pc(key)  # C3..B3
    steps = MAJOR_STEPS if mode == "major" else MINOR_STEPS
    beat = 60.0 / tempo_bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    chords = pretty_midi.Instrument(program=program)
    bass = pretty_midi.Instrument(program=32)
    melody = pretty_midi.Instrument(program=program)
    drum = pretty_midi.Instrument(program=0, is_drum=True)
    degrees = [0, 3, 4, 0]  # I IV V I
    mel_pattern = [4, 2, 3, 4, 5, 4, 2, 0, 3, 5, 4, 2, 1, 3, 4, 0]  # scale-degree indices, 4 per bar
    out = []
    for bar in range(bars):
        degree = degrees[bar % 4]
        root = tonic + steps[degree]
        triad = [
            root,
            tonic + steps[(degree + 2) % 7] + 12 * ((degree + 2) // 7),
            tonic + steps[(degree + 4) % 7] + 12 * ((degree + 4) // 7),
        ]
        if mode == "minor" and degree == 4:
            triad[1] += 1  # harmonic minor: the V chord's raised leading tone
        for b in range(4):
            t0 = (bar * 4 + b) * beat
            for p in triad:
                chords.notes.append(pretty_midi.Note(70, p, t0, t0 + 0.9 * beat))
            if b % 2 == 0:
                bass.notes.append(pretty_midi.Note(90, root - 12, t0, t0 + 1.8 * beat))
            idx = mel_pattern[(bar * 4 + b) % len(mel_pattern)]
            pitch = tonic + 12 + steps[idx]
            melody.notes.append(pretty_midi.Note(85, pitch, t0, t0 + 0.95 * beat))
            out.append(Note(pitch, t0, t0 + 0.95 * beat))
            if drums:
                drum.notes.append(pretty_midi.Note(100, 36 if b % 2 == 0 else 38, t0, t0 + 0.1))
                for half in (0, 0.5):
                    drum.notes.append(pretty_midi.Note(70, 42, t0 + half * beat, t0 + half * beat + 0.05))
    pm.instruments += [chords, bass, melody] + ([drum] if drums else [])
    pm.write(str(path))
    return out


def melody_midi(
    path: Path, notes: list[tuple[int, float]], tempo_bpm: float = 100.0, program: int = 0, gap_beats: float = 0.05
) -> list[Note]:
    """A monophonic melody: (pitch, beats) pairs one after another. Returns the notes with times."""
    import pretty_midi

    beat = 60.0 / tempo_bpm
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo_bpm)
    inst = pretty_midi.Instrument(program=program)
    t = 0.5 * beat
    out = []
    for pitch, beats in notes:
        end = t + (beats - gap_beats) * beat
        if pitch > 0:
            inst.notes.append(pretty_midi.Note(96, pitch, t, end))
            out.append(Note(pitch, t, end))
        t += beats * beat
    pm.instruments.append(inst)
    pm.write(str(path))
    return out


def render_midi(midi_path: Path, wav_path: Path, rate: int = 44100) -> Path:
    """fluidsynth with the GM soundfont, normalised to a -1 dBFS peak (fluidsynth renders at ~-27 dBFS)."""
    import soundfile as sf

    if shutil.which("fluidsynth") is None or not SOUNDFONT.is_file():
        raise RuntimeError(
            "fluidsynth and fluid-soundfont-gm are needed: apt-get install fluidsynth fluid-soundfont-gm"
        )
    raw = wav_path.with_name(wav_path.stem + "-raw.wav")
    subprocess.run(
        ["fluidsynth", "-ni", "-g", "1.0", "-F", str(raw), "-r", str(rate), str(SOUNDFONT), str(midi_path)],
        check=True,
        capture_output=True,
    )
    x, r = sf.read(str(raw), dtype="float32")
    raw.unlink()
    x = x / max(float(np.max(np.abs(x))), 1e-9) * 10 ** (-1 / 20)
    sf.write(str(wav_path), x, r, subtype="FLOAT")
    return wav_path


# -- scenes -----------------------------------------------------------------------------------------
def equal_rms(*signals: np.ndarray) -> list[np.ndarray]:
    """Scale signals to the RMS of the first (so a mix is at 0 dB between its sources)."""
    ref = float(np.sqrt(np.mean(signals[0] ** 2)))
    return [s * (ref / max(float(np.sqrt(np.mean(s**2))), 1e-12)) for s in signals]


def room_mixture(
    sources: list[np.ndarray], rate: int, rt60_s: float = 0.15, mic_spacing_m: float = 0.1, room_m=(6.0, 5.0, 3.0)
):
    """Sources spoken from different directions in a simulated shoebox room (pyroomacoustics image
    method) and picked up by a small microphone array (one mic per source).

    Returns (mixture (frames, mics), images (sources, frames)): each source as it arrives at mic 0,
    the usual reference for blind source separation."""
    import pyroomacoustics as pra

    absorption, max_order = pra.inverse_sabine(rt60_s, list(room_m))
    room = pra.ShoeBox(list(room_m), fs=rate, materials=pra.Material(absorption), max_order=max_order)
    centre = np.array([room_m[0] / 2, room_m[1] / 2, 1.5])
    n = len(sources)
    offsets = (np.arange(n) - (n - 1) / 2) * mic_spacing_m
    room.add_microphone_array(np.stack([centre + [o, 0, 0] for o in offsets], axis=1))
    angles = np.linspace(np.pi * 0.25, np.pi * 0.75, n)  # spread in front of the array
    for s, angle in zip(sources, angles):
        room.add_source(list(centre + 1.5 * np.array([np.cos(angle), np.sin(angle), 0.0])), signal=s)
    premix = room.simulate(return_premix=True)  # (sources, mics, frames)
    mixture = premix.sum(axis=0).T.astype(np.float32)
    peak = float(np.max(np.abs(mixture)))
    return mixture / peak * 0.5, (premix[:, 0, :] / peak * 0.5).astype(np.float32)


def event_scene(tmp_dir: Path, rate: int = 16000) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """14 s with one event of each kind at known times, silence between them:
    speech (espeak-ng) at 1.0 s, a noise burst at 5.0 s, a held chord at 7.0 s, three snare hits at
    9.8/10.3/10.8 s and a clipped tone at 12.0 s (clipping, and music). Returns (audio, [(label, start_s, end_s)])."""
    import subprocess

    wav = tmp_dir / "scene-speech.wav"
    subprocess.run(
        [
            "espeak-ng",
            "-v",
            "en-us",
            "-s",
            "150",
            "-w",
            str(wav),
            "Hello there, this is a short test of the event detector.",
        ],
        check=True,
        capture_output=True,
    )
    speech = trimmed(read_mono(wav, rate))
    out = np.zeros(14 * rate, np.float32)
    truth = [
        ("speech", *place(out, 0.5 * speech / np.max(np.abs(speech)), 1.0, rate)),
        ("noise", *place(out, noise_burst(rate, 1.0, 0.1), 5.0, rate)),
    ]
    chord = sum(harmonic_tone(midi_to_hz(p), 2.0, rate) for p in (60, 64, 67)) / 3
    truth.append(("music", *place(out, 0.3 * chord, 7.0, rate)))
    for i, t in enumerate((9.8, 10.3, 10.8)):
        truth.append(("hits", *place(out, 0.5 * snare(rate, seed=i), t, rate)))
    tone = np.clip(1.5 * np.sin(2 * np.pi * 200 * np.arange(int(0.3 * rate)) / rate), -1, 1).astype(np.float32)
    span = place(out, tone, 12.0, rate)
    truth += [("clipping", *span), ("music", *span)]  # a clipped tone is still a tone
    return out, truth
