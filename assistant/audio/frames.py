"""Microphone blocks → 32 ms VAD frames: echo cancellation, re-blocking, both VADs, the double-talk gate,
and the input meter the UIs draw.

A frame during playback counts as speech only if it is louder than the echo the canceller leaves
over (`EchoGate`): the assistant must not take its own voice for the user.

While the speaker plays, a second VAD and gate listen to what a linear-only canceller leaves
(`LinearEcho`, `[voice.echo] linear_barge_in`): AEC3's suppressor removes most of a short word said over
the reply along with the echo, the linear filter cannot. When that side channel hears the user and AEC3's
output does not, the frame carries the side channel's probability and audio, so the segmenter's onset and
the transcript that decides the barge-in both get the whole word. AEC3's output must agree that someone
spoke (it keeps a trace of a word while it removes the echo), or else the side channel's residual must be
unlike its own echo estimate (`echo_likeness`): either rules out an echo that moved without an event.
"""

from __future__ import annotations

import collections
from dataclasses import replace

import numpy as np

from ..config import VoiceOptions
from ..events import InputLevel
from .aec import EchoGate, EchoStage, ReferenceBuffer, load_echo_canceller
from .linear_echo import LinearEcho, echo_likeness
from .vad import FRAME_MS, FRAME_SAMPLES, VadClassifier, VadFrame, level_dbfs

SIDE_AEC3_MIN_PROB = 0.05  # …and only if silero found a trace of speech in AEC3's output
SIDE_AEC3_GAP_DB = 15.0  # the side channel's frame is the user's only if AEC3 left this much of it (see below)
SIDE_ECHO_LIKENESS_MAX = 0.15  # …or if its residual is this unlike its echo estimate, two frames in a row


class FramePipeline:
    """Audio blocks in, VadFrames out (see the module docstring)."""

    def __init__(self, options: VoiceOptions, reference: ReferenceBuffer | None, echo_backend: str) -> None:
        canceller = load_echo_canceller(echo_backend, options.echo.stream_delay_ms)
        self.echo_name = canceller.name
        side = reference is not None and canceller.name != "off" and options.echo.linear_barge_in
        self.echo = EchoStage(canceller, reference, LinearEcho() if side else None) if reference is not None else None
        self.gate = EchoGate(options.barge_in.echo_margin_db)
        self.classifier = VadClassifier(options.vad)
        # The barge-in side channel: its own VAD state and its own estimate of the echo it leaves.
        # It learns faster than AEC3's (≈ 15 dB a second): the side channel counts only once its filter has
        # converged (`LinearEcho.trusted`), so its residual is known to be low.
        self.side_gate = EchoGate(options.barge_in.echo_margin_db, release_db_per_frame=0.5) if side else None
        self.side_classifier = VadClassifier(options.vad) if side else None
        self.side_frames = 0  # frames the side channel heard as the user while AEC3's output did not
        self._user_frames_ago = 10**6  # side-channel frames since it last heard the user
        self._unlike_echo = 0  # side-channel frames in a row whose residual was unlike the echo estimate
        # The linear filter's echo estimate for the samples in `_lin`, and the previous frame's residual and
        # estimate: the likeness test's window.
        self._est = np.zeros(0, np.float32)
        self._prev_side = (np.zeros(0, np.float32), np.zeros(0, np.float32))
        self._buf = np.zeros(0, np.float32)
        self._lin = np.zeros(0, np.float32)
        self._ref = np.zeros(0, np.float32)
        # Echo arrives after the reference (server + room delay, reverberation): compare a frame
        # with the loudest reference of the last ~480 ms, not with the reference of the same instant.
        self._ref_recent: collections.deque[float] = collections.deque(maxlen=15)
        self.gated_frames = 0  # speech frames the double-talk gate refused (echo)

    def feed(self, block: np.ndarray, captured_at_s: float) -> list[VadFrame]:
        if self.echo is not None:
            clean, ref, lin, est = self.echo(block, captured_at_s)
            self._ref = np.concatenate([self._ref, ref])
            if lin is not None:
                self._lin = np.concatenate([self._lin, lin])
                self._est = np.concatenate([self._est, est])
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
            heard_by_aec3 = vf.speech_prob  # before the gate: what silero made of AEC3's output
            self.gate.update(vf.level_dbfs, ref_env, vf.speech_prob)
            if vf.speech_prob > 0.0 and not self.gate.near_end(vf.level_dbfs, ref_env):
                self.gated_frames += 1
                vf = replace(vf, speech_prob=0.0)
            if self.side_classifier is not None and len(self._lin) >= (i + 1) * FRAME_SAMPLES:
                linear = self._lin[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
                estimate = self._est[i * FRAME_SAMPLES : (i + 1) * FRAME_SAMPLES]
                vf = self._side_channel(vf, linear, estimate, ref_env, heard_by_aec3)
            out.append(vf)
        self._buf = self._buf[n * FRAME_SAMPLES :]
        if self.echo is not None:
            self._ref = self._ref[n * FRAME_SAMPLES :]
            self._lin = self._lin[n * FRAME_SAMPLES :]
            self._est = self._est[n * FRAME_SAMPLES :]
        return out

    def _side_channel(
        self, vf: VadFrame, linear: np.ndarray, estimate: np.ndarray, ref_env: float, heard_by_aec3: float
    ) -> VadFrame:
        """The frame as the linear side channel hears it, when that hears the user over the reply and
        AEC3's output does not; else `vf`. Both run on every frame, so each VAD keeps its own state.
        `estimate`: the linear filter's estimate of the echo in the same samples as `linear`."""
        side = self.side_classifier(linear, vf.captured_at_s, reference_dbfs=ref_env)
        window = (np.concatenate([self._prev_side[0], linear]), np.concatenate([self._prev_side[1], estimate]))
        self._prev_side = (linear, estimate)
        # It learns how much echo this filter leaves where AEC3's output holds no speech: its own VAD takes
        # that residual (the reply, 25–30 dB down) for speech, so it would never learn from its own frames.
        self.side_gate.update(side.level_dbfs, ref_env, heard_by_aec3)
        # Is it the user? The side channel's own VAD cannot tell a word from echo the filter has not learnt
        # (after an output underrun moved the echo, its residual is the reply itself). AEC3 follows such a
        # move at once, and keeps at least some of a word said over the reply (3–13 dB under, measured)
        # while it removes the echo (~40 dB): so the frame is the user's when AEC3's output is within
        # `SIDE_AEC3_GAP_DB` of the side channel's, and silero found a trace of speech in it (0.07–0.48 on
        # "Stop." after AEC3; echo AEC3 removed leaves it at ~0). But AEC3 sometimes mutes a first word
        # completely (-75 to -85 dBFS, silero 0.00, while the side channel hears it at -23 dBFS, 0.9: "Please
        # stop." lost so in traced runs): then the frame is the user's when what the filter left is unlike
        # the echo it estimates, two frames in a row — a moved echo is that estimate shifted (0.17–0.9 in the
        # same traces), a word is not in it (0.04–0.15 on 18 of the 27 muted frames; the rest, where the filter
        # cancelled only a few dB, stay with the echo and are missed).
        candidate = (
            side.speech_prob >= 0.3 and self.echo.linear.trusted() and self.side_gate.near_end(side.level_dbfs, ref_env)
        )
        aec3_agrees = heard_by_aec3 >= SIDE_AEC3_MIN_PROB and vf.level_dbfs >= side.level_dbfs - SIDE_AEC3_GAP_DB
        unlike = candidate and not aec3_agrees and echo_likeness(*window) < SIDE_ECHO_LIKENESS_MAX
        self._unlike_echo = self._unlike_echo + 1 if unlike else 0
        near = candidate and (aec3_agrees or self._unlike_echo >= 2)
        # Double talk: the filter must not learn the user's voice as echo (it then cancels the reply worse
        # for seconds after). Adaptation waits until ~320 ms after the user was last heard.
        self._user_frames_ago = 0 if near else self._user_frames_ago + 1
        self.echo.linear.adapting = self._user_frames_ago > 10
        if ref_env < -60.0 or side.speech_prob <= vf.speech_prob or not near:
            return vf  # nothing playing (no echo to cancel), AEC3's output hears as much, or not the user
        self.side_frames += 1
        return replace(vf, audio=linear, level_dbfs=side.level_dbfs, webrtc=side.webrtc, speech_prob=side.speech_prob)


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
