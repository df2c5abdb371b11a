"""Signals with a known pitch for the pitch and ONNX tests: synthetic tones, and melodies written as MIDI
here and rendered by fluidsynth with the General MIDI soundfont (real instrument recordings)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def harmonic_tone(
    f0_hz: float, seconds: float = 1.0, rate: int = 16_000, harmonics: int = 6, seed: int = 0, noise: float = 0.005
) -> np.ndarray:
    """1/k harmonics with random phases, a 20 ms fade in/out, a little white noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    y = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        if f0_hz * k < rate / 2 - 500:
            y += np.sin(2 * np.pi * f0_hz * k * t + rng.uniform(0, 2 * np.pi)) / k
    y *= 0.5 / np.abs(y).max()
    fade = int(0.02 * rate)
    y[:fade] *= np.linspace(0, 1, fade)
    y[-fade:] *= np.linspace(1, 0, fade)
    return (y + noise * rng.standard_normal(len(t))).astype(np.float32)


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi(path: Path, notes: list[tuple[int, float, float]], program: int, bpm: float = 120.0) -> Path:
    """A format-0 MIDI file: notes are (midi pitch, start beat, length in beats), one instrument."""
    ticks = 480
    events = [(0, bytes([0xFF, 0x51, 0x03]) + int(60e6 / bpm).to_bytes(3, "big")), (0, bytes([0xC0, program]))]
    for pitch, start, length in notes:
        events.append((int(start * ticks), bytes([0x90, pitch, 96])))
        events.append((int((start + length) * ticks), bytes([0x80, pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1][0] == 0x90))
    track, now = b"", 0
    for tick, data in events:
        track += _vlq(tick - now) + data
        now = tick
    track += _vlq(0) + bytes([0xFF, 0x2F, 0x00])
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, ticks) + b"MTrk" + struct.pack(">I", len(track)) + track)
    return path


def render_midi(midi: Path, wav: Path, rate: int = 16_000) -> np.ndarray:
    """fluidsynth → mono float32 at `rate`, normalised to -3 dBFS peak (fluidsynth renders quietly)."""
    import soundfile as sf

    if not shutil.which("fluidsynth") or not SOUNDFONT.is_file():
        raise RuntimeError("fluidsynth and fluid-soundfont-gm are needed (./install.sh installs them)")
    # -R 0 -C 0: no reverb or chorus, so a note ends where the score says (a tail would read as a note).
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            "1.0",
            "-r",
            str(rate),
            "-F",
            str(wav),
            str(SOUNDFONT),
            str(midi),
        ],
        check=True,
        capture_output=True,
    )
    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    assert sr == rate
    mono = audio.mean(axis=1)
    return (mono * (0.7 / max(np.abs(mono).max(), 1e-9))).astype(np.float32)


def cents(estimate_hz, reference_hz) -> np.ndarray:
    return 1200.0 * np.log2(np.asarray(estimate_hz, dtype=np.float64) / np.asarray(reference_hz, dtype=np.float64))
