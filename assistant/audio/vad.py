"""Voice activity, two stages: webrtcvad as the cheap first pass, silero VAD to confirm.

webrtcvad (a GMM on band energies, ~4 µs per frame) fires on almost any sound; silero VAD v6 (a
small LSTM, ~120 µs per frame) tells speech from coughs, clicks and music much better. Silero runs
only while webrtcvad has fired recently, and when it wakes up it first reads the buffered frames
before the trigger, so its recurrent state has context by the time the decision matters.

The silero model is the ONNX file that ships inside faster-whisper (already a dependency, already
sha256-pinned by its wheel); it runs here on onnxruntime directly so it can be fed frame by frame.

Frames are 32 ms (512 samples at 16 kHz): silero's native window. webrtcvad takes 10/20/30 ms
frames, so it reads the last 30 ms of each one.
"""

from __future__ import annotations

import collections
import os
from dataclasses import dataclass

import numpy as np

from ..config import VadOptions

SAMPLE_RATE_HZ = 16_000
FRAME_SAMPLES = 512
FRAME_MS = FRAME_SAMPLES * 1000 / SAMPLE_RATE_HZ  # 32.0
_WEBRTC_SAMPLES = 480  # 30 ms
_SILERO_CONTEXT = 64


@dataclass(frozen=True, slots=True)
class VadFrame:
    """One 32 ms frame with what both detectors said about it."""

    index: int  # frame number since the stream started
    audio: np.ndarray  # float32, FRAME_SAMPLES (after echo cancellation)
    captured_at_s: float  # monotonic time of its last sample
    level_dbfs: float  # RMS level
    webrtc: bool  # first pass fired
    speech_prob: float  # silero probability; 0.0 when silero did not run (webrtc quiet)
    reference_dbfs: float = -120.0  # level of what the speaker played meanwhile (echo reference)

    @property
    def start_s(self) -> float:
        """Stream time of the first sample (audio clock, independent of wall time)."""
        return self.index * FRAME_SAMPLES / SAMPLE_RATE_HZ

    @property
    def end_s(self) -> float:
        return (self.index + 1) * FRAME_SAMPLES / SAMPLE_RATE_HZ


def level_dbfs(x: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return round(20 * np.log10(max(rms, 1e-6)), 1)


def silero_model_path() -> str:
    import faster_whisper.utils

    return os.path.join(faster_whisper.utils.get_assets_path(), "silero_vad_v6.onnx")


class SileroVad:
    """Silero VAD v6 streamed one 512-sample frame at a time (LSTM state and 64-sample context kept)."""

    def __init__(self, path: str | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        # One thread: 120 µs per frame does not need two, and the ASR/LLM need the cores.
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        self.session = ort.InferenceSession(
            path or silero_model_path(), providers=["CPUExecutionProvider"], sess_options=opts
        )
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(_SILERO_CONTEXT, np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        frame = np.asarray(frame, np.float32)
        x = np.concatenate([self._context, frame])[None, :]
        prob, self._h, self._c = self.session.run(None, {"input": x, "h": self._h, "c": self._c})
        self._context = frame[-_SILERO_CONTEXT:].copy()
        return float(np.asarray(prob).reshape(-1)[0])


class WebRtcGate:
    """webrtcvad on the last 30 ms of a frame."""

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(int(aggressiveness))

    def __call__(self, frame: np.ndarray) -> bool:
        pcm = (np.clip(frame[-_WEBRTC_SAMPLES:], -1.0, 1.0) * 32767).astype("<i2").tobytes()
        return bool(self._vad.is_speech(pcm, SAMPLE_RATE_HZ))


class VadClassifier:
    """Frames in, VadFrames out: webrtcvad on every frame, silero while webrtcvad is recently active."""

    def __init__(
        self, options: VadOptions | None = None, silero: SileroVad | None = None, webrtc: WebRtcGate | None = None
    ) -> None:
        self.options = options or VadOptions()
        self.webrtc = webrtc or WebRtcGate(self.options.webrtc_aggressiveness)
        self.silero = silero or SileroVad()
        self._index = 0
        self._history: collections.deque[np.ndarray] = collections.deque(
            maxlen=max(1, int(self.options.silero_warmup_ms / FRAME_MS))
        )
        self._quiet_frames = 10**6  # frames since webrtcvad last fired
        self._silero_awake = False
        self.silero_frames = 0  # frames silero actually ran on (a cost figure)

    def __call__(
        self, frame: np.ndarray, captured_at_s: float, force_silero: bool = False, reference_dbfs: float = -120.0
    ) -> VadFrame:
        frame = np.asarray(frame, np.float32)
        voiced = self.webrtc(frame) if np.any(frame) else False
        self._quiet_frames = 0 if voiced else self._quiet_frames + 1
        hangover = self.options.silero_hangover_ms / FRAME_MS
        prob = 0.0
        if voiced or force_silero or self._quiet_frames <= hangover:
            if not self._silero_awake:
                # Waking up: reset and read the frames before the trigger first (context for the LSTM).
                self.silero.reset()
                for past in self._history:
                    self.silero(past)
                    self.silero_frames += 1
                self._silero_awake = True
            prob = self.silero(frame)
            self.silero_frames += 1
        else:
            self._silero_awake = False
        self._history.append(frame)
        out = VadFrame(self._index, frame, captured_at_s, level_dbfs(frame), voiced, round(prob, 4), reference_dbfs)
        self._index += 1
        return out
