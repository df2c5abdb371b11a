"""Microphone blocks → 32 ms VAD frames: echo cancellation, re-blocking, both VADs, the double-talk gate,
and the input meter the UIs draw.

A frame during playback counts as speech only if it is louder than the echo the canceller leaves
over (`EchoGate`): the assistant must not take its own voice for the user.
"""

from __future__ import annotations

import collections
from dataclasses import replace

import numpy as np

from ..config import VoiceOptions
from ..events import InputLevel
from .aec import EchoGate, EchoStage, ReferenceBuffer, load_echo_canceller
from .vad import FRAME_MS, FRAME_SAMPLES, VadClassifier, VadFrame, level_dbfs


class FramePipeline:
    """Audio blocks in, VadFrames out (see the module docstring)."""

    def __init__(self, options: VoiceOptions, reference: ReferenceBuffer | None, echo_backend: str) -> None:
        canceller = load_echo_canceller(echo_backend, options.echo.stream_delay_ms)
        self.echo_name = canceller.name
        self.echo = EchoStage(canceller, reference) if reference is not None else None
        self.gate = EchoGate(options.barge_in.echo_margin_db)
        self.classifier = VadClassifier(options.vad)
        self._buf = np.zeros(0, np.float32)
        self._ref = np.zeros(0, np.float32)
        # Echo arrives after the reference (server + room delay, reverberation): compare a frame
        # with the loudest reference of the last ~480 ms, not with the reference of the same instant.
        self._ref_recent: collections.deque[float] = collections.deque(maxlen=15)
        self.gated_frames = 0  # speech frames the double-talk gate refused (echo)

    def feed(self, block: np.ndarray, captured_at_s: float) -> list[VadFrame]:
        if self.echo is not None:
            clean, ref = self.echo(block, captured_at_s)
            self._ref = np.concatenate([self._ref, ref])
        else:
            clean = np.asarray(block, np.float32)
        self._buf = np.concatenate([self._buf, clean])
        out = []
        n = len(self._buf) // FRAME_SAMPLES
        for i in range(n):
            frame = self._buf[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
            ref_db = (
                level_dbfs(self._ref[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]) if self.echo is not None else -120.0
            )
            # The capture time of this frame's last sample, counted back from the block's.
            behind = (len(self._buf) - (i + 1) * FRAME_SAMPLES) / 16_000
            self._ref_recent.append(ref_db)
            ref_env = max(self._ref_recent)
            vf = self.classifier(frame, captured_at_s - behind, reference_dbfs=ref_env)
            self.gate.update(vf.level_dbfs, ref_env, vf.speech_prob)
            if vf.speech_prob > 0.0 and not self.gate.near_end(vf.level_dbfs, ref_env):
                self.gated_frames += 1
                vf = replace(vf, speech_prob=0.0)
            out.append(vf)
        self._buf = self._buf[n * FRAME_SAMPLES :]
        if self.echo is not None:
            self._ref = self._ref[n * FRAME_SAMPLES :]
        return out


class LevelMeter:
    """The input meter: one `InputLevel` per ~96 ms of frames (the UIs' level bar, ~10 a second)."""

    def __init__(self, every_ms: int = 96) -> None:
        self.every_ms = every_ms
        self.frames = 0  # frames metered so far (how much the loop has heard)
        self._levels: list[float] = []
        self._probs: list[float] = []

    def push(self, frame: VadFrame) -> InputLevel | None:
        self.frames += 1
        self._levels.append(frame.level_dbfs)
        self._probs.append(frame.speech_prob)
        if len(self._levels) * FRAME_MS < self.every_ms:
            return None
        level = 10 * np.log10(np.mean([10 ** (v / 10) for v in self._levels]))
        event = InputLevel(round(float(level), 1), max(self._levels), round(max(self._probs), 3))
        self._levels, self._probs = [], []
        return event
