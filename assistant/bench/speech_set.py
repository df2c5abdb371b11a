"""Spoken requests for the offline speech benchmarks (`earshot bench turn-end`, `earshot bench asr`).

The latency bench's requests (bench/latency_sets.py: CHAT and COMMANDS) said by hibari (the project's
TTS, at three speeds) and by espeak-ng voices (formant synthesis: flat, robotic prosody, harder for
both recognisers and the turn model). Each utterance also gets the places where it can be broken off
unfinished: word boundaries found by Whisper's word timestamps on the whole utterance, each snapped to
the quietest 10 ms nearby, so a cut-off prefix keeps the mid-sentence prosody of a speaker who stopped
to think ("Remove the noise from …") instead of a TTS voice saying a fragment as a finished sentence.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .latency_sets import CHAT, COMMANDS

RATE = 16_000
DEFAULT_VOICES = ("hibari", "en-us", "en-gb")


@dataclass
class Spoken:
    text: str  # what was said
    voice: str  # "hibari" or an espeak-ng voice
    audio: np.ndarray  # 16 kHz float32, speech only (leading and trailing silence trimmed)
    cuts: list[tuple[int, str]] = field(default_factory=list)  # (sample, words before it): unfinished points

    @property
    def label(self) -> str:
        return f"{self.text} [{self.voice}]"


def requests(limit: int | None = None) -> list[str]:
    """CHAT and COMMANDS interleaved (so `limit` takes some of each)."""
    out: list[str] = []
    for i in range(max(len(CHAT), len(COMMANDS))):
        out += [s[i] for s in (CHAT, COMMANDS) if i < len(s)]
    return out[:limit] if limit else out


def _espeak(text: str, voice: str) -> np.ndarray:
    import soundfile as sf

    from ..audio.files import resample

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        audio, sr = sf.read(str(path), dtype="float32")
    return resample(audio, sr, RATE)


def speak(text: str, voice: str, i: int, tts) -> np.ndarray:
    """`text` said by `voice` (hibari at speeds 0.95/1.0/1.08 by `i`), peak 0.7, silence trimmed."""
    from ..audio.files import resample
    from ..runtime.tts import trim_silence

    if voice == "hibari":
        audio = resample(tts.synthesize(text, speed=(0.95, 1.0, 1.08)[i % 3], seed=11 + i), tts.sample_rate_hz, RATE)
    else:
        audio = _espeak(text, voice)
    audio = trim_silence(np.asarray(audio, np.float32), RATE, lead_ms=0, tail_ms=0)
    return (audio / (np.max(np.abs(audio)) + 1e-9) * 0.7).astype(np.float32)


def word_cuts(audio: np.ndarray, recognizer, most: int = 2) -> list[tuple[int, str]]:
    """Up to `most` word boundaries to break the utterance off at: before its last word, and about halfway."""
    result = recognizer.transcribe(audio, word_timestamps=True, beam_size=1)
    words = [w for seg in result.segments for w in seg.words]
    if len(words) < 2:
        return []
    picks = sorted({len(words) - 2, (len(words) - 2) // 2})[-most:]
    cuts = []
    for j in picks:
        lo = int(max(0.0, words[j].end_s - 0.04) * RATE)
        hi = int(min(len(audio) / RATE, max(words[j].end_s, words[j + 1].start_s) + 0.04) * RATE)
        hop = RATE // 100
        if hi - lo < hop:
            cut = int(words[j].end_s * RATE)
        else:
            n = (hi - lo) // hop
            energy = np.square(audio[lo : lo + n * hop].reshape(n, hop)).sum(axis=1)
            cut = lo + int(np.argmin(energy)) * hop + hop // 2
        if RATE // 5 <= cut <= len(audio) - RATE // 5:  # at least 0.2 s on either side
            cuts.append((cut, " ".join(w.word for w in words[: j + 1])))
    return cuts


def build_set(
    texts: list[str],
    voices: tuple[str, ...],
    tts,
    recognizer,
    progress: Callable[[str], None] | None = None,
    cuts: bool = True,
) -> list[Spoken]:
    """Every text in every voice, with its cut points (`cuts`)."""
    out = []
    for v, voice in enumerate(voices):
        for i, text in enumerate(texts):
            try:
                audio = speak(text, voice, i + v, tts)
            except (OSError, subprocess.CalledProcessError) as exc:  # espeak-ng missing: that voice is skipped
                if progress:
                    progress(f"voice {voice} skipped: {exc}")
                break
            out.append(Spoken(text, voice, audio, word_cuts(audio, recognizer) if cuts else []))
        if progress:
            progress(f"spoke {len(texts)} requests in the voice {voice}")
    return out


def noise_floor(n: int, seed: int, dbfs: float = -65.0) -> np.ndarray:
    """A quiet room: white noise at `dbfs` RMS (digital silence would flatter the VAD)."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) * 10 ** (dbfs / 20)).astype(np.float32)
