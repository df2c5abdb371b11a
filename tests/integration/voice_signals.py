"""Signals for the voice-loop tests: requests spoken by hibari and espeak-ng, a cough, a door slam."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

RATE = 16_000


def hibari(text: str, speed: float = 1.0, seed: int = 5, gain: float = 0.7) -> np.ndarray:
    """16 kHz speech from the project's own TTS (exact for tiny.en)."""
    from assistant.audio.files import resample
    from assistant.config import EarshotConfig
    from assistant.runtime.models import ModelStore
    from assistant.runtime.tts import get_tts

    tts = get_tts(ModelStore(EarshotConfig().paths))
    return (resample(tts.synthesize(text, speed=speed, seed=seed), tts.sample_rate_hz, RATE) * gain).astype(np.float32)


def espeak16(text: str, voice: str = "en-us", gain: float = 0.7) -> np.ndarray:
    import soundfile as sf

    from assistant.audio.files import resample

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        audio, sr = sf.read(str(path), dtype="float32")
    audio = resample(audio, sr, RATE)
    return (audio / (np.max(np.abs(audio)) + 1e-9) * gain).astype(np.float32)


def cough(seed: int = 0, peak: float = 0.6) -> np.ndarray:
    """Two bursts of turbulent, band-limited noise with a sharp attack (the "kh-hh" of a cough):
    ~0.35 s, loud, voiced-looking energy in the speech band, but no formant structure."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    out = np.zeros(int(0.6 * RATE), np.float32)
    sos = butter(4, [250, 3500], btype="band", fs=RATE, output="sos")
    for start_s, length_s, level in ((0.05, 0.22, 1.0), (0.32, 0.16, 0.55)):
        n = int(length_s * RATE)
        t = np.arange(n) / RATE
        env = (1 - np.exp(-t / 0.008)) * np.exp(-t / 0.07)
        burst = sosfilt(sos, rng.standard_normal(n)) * env * level
        a = int(start_s * RATE)
        out[a : a + n] += burst.astype(np.float32)
    return (out / np.max(np.abs(out)) * peak).astype(np.float32)


def voiced_cough(seed: int = 2, peak: float = 0.6, f0_hz: float = 160.0) -> np.ndarray:
    """A harder cough: a glottal, pitched onset (harmonics of `f0_hz` through a vowel-like formant
    filter, ~90 ms) followed by the turbulent burst — the part a VAD is most likely to call speech."""
    from scipy.signal import butter, lfilter, sosfilt

    n = int(0.09 * RATE)
    t = np.arange(n) / RATE
    pulses = np.zeros(n)
    pulses[(np.arange(0, n, int(RATE / f0_hz)))] = 1.0
    voiced = pulses
    for f, bw in ((600, 120), (1100, 160), (2600, 250)):  # an "ah"-like resonance
        r = np.exp(-np.pi * bw / RATE)
        voiced = lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * f / RATE), r * r], voiced)
    voiced *= (1 - np.exp(-t / 0.005)) * np.exp(-t / 0.05)
    voiced /= np.max(np.abs(voiced)) + 1e-9
    noisy = cough(seed, peak=1.0)
    out = np.zeros(len(noisy) + n // 2, np.float32)
    out[:n] += voiced.astype(np.float32)
    out[n // 2 :] += noisy * 0.8
    out = sosfilt(butter(2, 80, btype="high", fs=RATE, output="sos"), out)
    return (out / np.max(np.abs(out)) * peak).astype(np.float32)


def door_slam(seed: int = 1, peak: float = 0.8) -> np.ndarray:
    """A thump (low-passed impulse) plus a latch click, ringing out in a 0.6 s RT60 room."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(seed)
    n = int(0.9 * RATE)
    out = np.zeros(n)
    thump = sosfilt(butter(2, 180, btype="low", fs=RATE, output="sos"), np.r_[np.ones(40), np.zeros(4000)])
    out[: len(thump)] += thump * 8
    click = rng.standard_normal(120) * np.exp(-np.arange(120) / 20)
    out[300:420] += click * 0.6
    t = np.arange(n) / RATE
    room = rng.standard_normal(n) * np.exp(-6.9 * t / 0.6) * 0.02
    out = np.convolve(out, np.r_[1.0, room[1:]])[:n]
    return (out / np.max(np.abs(out)) * peak).astype(np.float32)


def first_audible_index(audio: np.ndarray, threshold_dbfs: float = -40.0) -> int:
    from assistant.bench.voice_rig import first_audible

    i = first_audible(audio, threshold_dbfs)
    return 0 if i is None else i


def locate(needle: np.ndarray, haystack: np.ndarray) -> int:
    """Offset of `needle` inside `haystack` (cross-correlation peak)."""
    from scipy.signal import correlate

    c = correlate(haystack.astype(np.float64), needle.astype(np.float64), mode="valid", method="fft")
    return int(np.argmax(c))


# -- shared by the voice tests that run on a private PulseAudio server --------------------------------
def require_pulse(*models: str) -> None:
    """Skip when no private PulseAudio can run here; fail (with the fix) when a model is missing."""
    import pytest

    from assistant.audio.pulse import pulseaudio_available
    from tests.conftest import require_models

    reason = pulseaudio_available()
    if reason:
        pytest.skip(f"PulseAudio cannot run here: {reason}")
    require_models(*models)


def canned_outcome(assistant, say: str):
    """A validated plan that only says `say`, as the planner would return it (no model involved)."""
    from assistant.llm.plan import parse_plan
    from assistant.llm.planner import Attempt, PlanOutcome

    raw = f'{{"say":"{say}","steps":[]}}'
    return PlanOutcome(parse_plan(raw, assistant.registry, assistant.session), [Attempt(raw, None, 1.0, 0, 0, 0)])


def canned_plan(loop, say: str = "Okay.") -> None:
    """The voice loop's planner answers at once with a spoken answer; the rest of the turn runs as usual."""

    async def plan(text, cancel, on_sentence):
        return canned_outcome(loop.assistant, say)

    loop.speculator.plan = plan
