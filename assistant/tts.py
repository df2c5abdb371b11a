"""Local text-to-speech behind one interface, streamed sentence by sentence.

The default engine is hibari (ONNX, 24 kHz), loaded from the sha256-checked model store rather than
from its package. Only the bundled voice "heart" exists offline; hibari would download any other
voice on first use, so other names are refused here with the list of voices that work.
"""
from __future__ import annotations

from typing import Iterator, Protocol

import numpy as np

from .audio_models.base import cached_model
from .errors import EarshotError
from .models import ModelStore

VOICES = {"heart": "hibari-heart"}     # voice name → model in the store


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


def get_tts(store: ModelStore, model_name: str = "hibari-heart", voice: str = "heart") -> HibariEngine:
    if voice not in VOICES:
        raise EarshotError(f"there is no offline voice {voice!r}", f"available voices: {', '.join(VOICES)}")
    return cached_model(f"tts:{store.root}:{voice}", lambda: HibariEngine(store, voice))
