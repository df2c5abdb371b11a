"""Does the utterance so far sound finished? Smart Turn v3.2 on ONNX Runtime.

Smart Turn (pipecat-ai, BSD-2-Clause) is a Whisper-tiny-sized audio classifier trained on complete and
cut-off turns: it hears the prosody of the end of an utterance (a falling pitch, a drawn-out "uh", a
sentence broken off after "from"), not the words. It reads the last 8 s of 16 kHz audio as Whisper
log-mel features and answers the probability that the speaker has finished.

The ONNX file is taken out of the `pipecat-ai` wheel into the sha256-pinned model store
(`earshot models install`); pipecat itself is never imported. The features are computed here, after
pipecat's `_whisper_features.py` (itself a copy of Hugging Face's `WhisperFeatureExtractor` with
`chunk_length=8`), and checked against librosa in tests/unit/test_turn_end_features.py:

    the last 8 s (zero-padded at the *start* to 128,000 samples) → zero-mean, unit-variance waveform →
    periodic-Hann STFT (400-point FFT, hop 160, reflect-padded, centred) → power → 80 Slaney mel bands →
    log10 (floor 1e-10) → the last frame dropped → clamped to (max − 8) → (x + 4) / 4  →  (80, 800)

One call costs ~50–90 ms of one core on the reference 2-core machine. By default the voice loop ends a turn
after 160 ms of silence when this model *and* the transcript rule say "finished" (`[voice.endpoint] turn_end`);
`earshot bench turn-end` measured why (README, "Ending turns").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from ..config import EarshotConfig
from .models import ModelStore, cached_model

MODEL = "smart-turn-v3.2"
SAMPLE_RATE_HZ = 16_000
WINDOW_SAMPLES = 8 * SAMPLE_RATE_HZ  # the model reads the last 8 s
N_FFT = 400
HOP = 160
N_MELS = 80
FRAMES = WINDOW_SAMPLES // HOP  # 800


@dataclass(frozen=True)
class TurnEndResult:
    probability: float  # that the speaker has finished the turn
    elapsed_ms: float  # wall time of the call (features + model)
    cpu_ms: float  # CPU time of the calling thread (what it cost the machine, whatever the load)


_MEL = None
_WINDOW = np.hanning(N_FFT + 1)[:-1]  # periodic Hann, as torch.hann_window


def _mel_filters() -> np.ndarray:
    """(80, 201) Slaney-normalised triangular filters on the Slaney mel scale (the Whisper bank), float64."""
    global _MEL
    if _MEL is None:
        from faster_whisper.feature_extractor import FeatureExtractor

        _MEL = np.asarray(FeatureExtractor.get_mel_filters(SAMPLE_RATE_HZ, N_FFT, n_mels=N_MELS), np.float64)
    return _MEL


def fit_window(audio_16k: np.ndarray) -> np.ndarray:
    """The last 8 s of the audio, zero-padded at the start to exactly 8 s (float32)."""
    x = np.asarray(audio_16k, np.float32).reshape(-1)[-WINDOW_SAMPLES:]
    if len(x) < WINDOW_SAMPLES:
        x = np.concatenate([np.zeros(WINDOW_SAMPLES - len(x), np.float32), x])
    return x


def log_mel_features(audio_16k: np.ndarray) -> np.ndarray:
    """The model's input for the utterance so far: float32 (80, 800), roughly in [-1, 1] (see the
    module docstring for each step)."""
    x = fit_window(audio_16k)
    # Normalised in float32 over the padded window, as the reference does before promoting to float64.
    x = (x - x.mean()) / np.sqrt(x.var() + np.float32(1e-7))
    padded = np.pad(x.astype(np.float64), (N_FFT // 2, N_FFT // 2), mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]  # (801, 400)
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=-1)) ** 2  # (801, 201)
    mel = np.maximum(1e-10, _mel_filters() @ power.T)  # (80, 801)
    log_spec = np.log10(mel)[:, :-1]
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


class TurnEndModel:
    """One loaded Smart Turn session. `threads`: ONNX Runtime threads per call (one leaves the other core
    to the ASR that runs at the same moment)."""

    def __init__(self, store: ModelStore, config: EarshotConfig | None = None, threads: int = 1) -> None:
        from .onnx import create_session

        config = config or EarshotConfig()
        config = replace(config, accelerator=replace(config.accelerator, cpu_threads=max(1, int(threads))))
        self.path = store.path(MODEL)
        self.session, self.provider, self.notes = create_session(self.path, config)
        self.input_name = self.session.get_inputs()[0].name

    def probability(self, audio_16k: np.ndarray) -> TurnEndResult:
        """P(the turn is finished) for the utterance so far (16 kHz mono, any length; the last 8 s count)."""
        t0, c0 = time.perf_counter(), time.thread_time()
        features = log_mel_features(audio_16k)[None]
        out = self.session.run(None, {self.input_name: features})[0]
        p = float(np.asarray(out).reshape(-1)[0])
        return TurnEndResult(
            round(p, 4), round((time.perf_counter() - t0) * 1000, 1), round((time.thread_time() - c0) * 1000, 1)
        )


def get_turn_end_model(store: ModelStore, config: EarshotConfig | None = None, threads: int = 1) -> TurnEndModel:
    """The process-wide Smart Turn session (ModelMissing with the fix when it is not installed)."""
    return cached_model(f"turn-end:{store.root}:{threads}", lambda: TurnEndModel(store, config, threads))
