"""Endpointing: VAD frames in, utterance boundaries out. A pure state machine (no clock, no I/O).

    idle ──speech frame──► onset ──enough speech within the window──► speech
      ▲                      │ not enough (a cough, a door slam)          │ first silent frame
      └──────────────────────┘                                           ▼
      ▲                                        speech again ◄──────── pause
      │                                        (resume: cancel any speculation)
      └── end: silence ≥ min_silence_ms and the transcript looks finished,
               or silence ≥ max_silence_ms, or the utterance is too long, or push-to-talk release

Time is counted in frames (32 ms), never read from a clock, so a file fed at any speed segments
exactly like the same audio from a microphone, and the unit tests drive it with synthetic frames.

The pre-roll keeps the frames before the onset: the first syllable of a word usually starts below
the VAD threshold ("s", "f", "h"), and the ASR needs it or it hears "top" for "stop".

"Does the transcript look finished?" is asked through `completion`, a callable the voice loop sets:
True (finished), False (not: wait for max_silence_ms), or None (not known yet: the speculative
ASR is still running; ask again on the next frame).
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..config import BargeInOptions, EndpointOptions, VadOptions
from .vad import FRAME_MS, FRAME_SAMPLES, VadFrame

IDLE, ONSET, SPEECH, PAUSE = "idle", "onset", "speech", "pause"


@dataclass(frozen=True, slots=True)
class Onset:
    """Speech confirmed. `start_index` is the first frame of the utterance (pre-roll included)."""

    start_index: int
    trigger_index: int  # first frame the VAD called speech
    frame: VadFrame  # the frame that confirmed it


@dataclass(frozen=True, slots=True)
class Candidate:
    """A first frame that may be speech (the onset is not confirmed yet): during playback the voice
    loop pauses the speaker here, and resumes it if this turns out to be a Transient."""

    trigger_index: int
    frame: VadFrame


@dataclass(frozen=True, slots=True)
class Transient:
    """Something triggered the VAD but was too short to be speech (cough, click, door)."""

    trigger_index: int
    voiced_ms: float
    # The frames from the trigger on, with the pre-roll: over the reply, a word as short as "Stop." ends
    # as a transient (its vowel gives silero one or two sure frames), so the loop transcribes it.
    audio: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Pause:
    """The first silent frame after speech: the moment to start speculating."""

    last_voiced_index: int
    frame: VadFrame


@dataclass(frozen=True, slots=True)
class Resume:
    """Speech again after a pause: whatever was speculated is void."""

    frame: VadFrame


@dataclass(frozen=True, slots=True)
class End:
    """The utterance is over."""

    reason: str  # "complete", "max_silence", "max_length", "manual"
    audio: np.ndarray  # float32 16 kHz: pre-roll + speech + a little trailing silence
    start_index: int
    last_voiced_index: int
    silence_ms: float
    frame: VadFrame


SegmentEvent = Candidate | Onset | Transient | Pause | Resume | End


class Segmenter:
    def __init__(
        self,
        endpoint: EndpointOptions | None = None,
        vad: VadOptions | None = None,
        barge_in: BargeInOptions | None = None,
    ) -> None:
        self.endpoint = endpoint or EndpointOptions()
        self.vad = vad or VadOptions()
        self.barge_in = barge_in or BargeInOptions()
        self.completion: Callable[[], bool | None] = lambda: True
        self.state = IDLE
        self.playback_active = False  # the assistant is speaking: stricter onset (barge-in)
        self.manual = False  # push-to-talk: only press/release start and end turns
        pre = max(1, round(self.endpoint.pre_roll_ms / FRAME_MS))
        self._pre: collections.deque[VadFrame] = collections.deque(maxlen=pre)
        self._frames: list[VadFrame] = []
        self._reset_counters()

    # -- helpers ------------------------------------------------------------------------------
    def _reset_counters(self) -> None:
        self._trigger = -1
        self._voiced_in_onset = 0
        self._last_voiced = -1
        self._silent = 0
        self._resume_run = 0

    def _frames_for(self, ms: float) -> int:
        return max(1, int(np.ceil(ms / FRAME_MS)))

    def _onset_threshold(self) -> tuple[float, float]:
        if self.playback_active:
            return self.barge_in.speech_threshold, float(self.barge_in.speech_ms)
        return self.vad.speech_threshold, float(self.endpoint.onset_speech_ms)

    @property
    def utterance_start_index(self) -> int | None:
        return self._frames[0].index if self._frames and self.state in (SPEECH, PAUSE) else None

    def audio_so_far(self) -> np.ndarray:
        """The utterance up to now (pre-roll included); empty when not in speech."""
        if self.state not in (SPEECH, PAUSE) or not self._frames:
            return np.zeros(0, np.float32)
        return np.concatenate([f.audio for f in self._frames])

    @property
    def silence_ms(self) -> float:
        return self._silent * FRAME_MS

    # -- push-to-talk -------------------------------------------------------------------------
    def press(self) -> list[SegmentEvent]:
        """Push-to-talk pressed: the utterance starts now (with the pre-roll)."""
        self.manual = True
        if self.state in (SPEECH, PAUSE):
            return []
        self._frames = list(self._pre)
        self._reset_counters()
        self.state = SPEECH
        if not self._frames:
            return []
        last = self._frames[-1]
        return [Onset(self._frames[0].index, last.index, last)]

    def release(self) -> list[SegmentEvent]:
        """Push-to-talk released: the utterance ends now, whatever the VAD says."""
        if self.state not in (SPEECH, PAUSE) or not self._frames:
            self.state = IDLE
            return []
        return [self._end("manual", keep_all=True)]

    # -- the state machine ----------------------------------------------------------------------
    def push(self, frame: VadFrame) -> list[SegmentEvent]:
        events: list[SegmentEvent] = []
        threshold, need_ms = self._onset_threshold()
        is_speech = frame.speech_prob >= threshold
        if self.state == IDLE:
            if is_speech and not self.manual:
                self.state = ONSET
                self._trigger = frame.index
                self._voiced_in_onset = 1
                self._onset_frames = [frame]
                events.append(Candidate(frame.index, frame))
                events += self._check_onset(frame, need_ms)
            else:
                self._pre.append(frame)
            return events
        if self.state == ONSET:
            self._onset_frames.append(frame)
            if is_speech:
                self._voiced_in_onset += 1
            events += self._check_onset(frame, need_ms)
            if self.state == ONSET and frame.index - self._trigger + 1 >= self._frames_for(
                self.endpoint.onset_window_ms
            ):
                heard = list(self._pre) + self._onset_frames
                audio = np.concatenate([f.audio for f in heard]) if heard else None
                events.append(Transient(self._trigger, self._voiced_in_onset * FRAME_MS, audio))
                for f in self._onset_frames:
                    self._pre.append(f)
                self.state = IDLE
                self._reset_counters()
            return events
        # in an utterance (SPEECH or PAUSE)
        self._frames.append(frame)
        voiced = frame.speech_prob >= (self.vad.silence_threshold if not self.manual else threshold)
        if voiced:
            self._resume_run += 1
        else:
            self._resume_run = 0
        if self.state == SPEECH:
            if voiced:
                self._last_voiced = frame.index
                self._silent = 0
            else:
                self._silent = 1
                self.state = PAUSE
                events.append(Pause(self._last_voiced, frame))
        elif self.state == PAUSE:
            if voiced:
                if self._resume_run >= self._frames_for(self.endpoint.resume_speech_ms):
                    self.state = SPEECH
                    self._silent = 0
                    self._last_voiced = frame.index
                    events.append(Resume(frame))
                else:
                    self._silent += 1  # a blip: not yet a resumption, the pause goes on
            else:
                self._silent += 1
            if self.state == PAUSE and not self.manual:
                silence = self._silent * FRAME_MS
                if silence >= self.endpoint.max_silence_ms:
                    events.append(self._end("max_silence"))
                    return events
                if ended := self.poll():
                    return events + ended
        if (
            self.state in (SPEECH, PAUSE)
            and len(self._frames) * FRAME_SAMPLES >= self.endpoint.max_utterance_s * 16_000
        ):
            events.append(self._end("max_length", keep_all=True))
        return events

    def _check_onset(self, frame: VadFrame, need_ms: float) -> list[SegmentEvent]:
        if self._voiced_in_onset * FRAME_MS < need_ms:
            return []
        self.state = SPEECH
        self._frames = list(self._pre) + self._onset_frames
        self._pre.clear()
        self._last_voiced = frame.index
        self._silent = 0
        self._resume_run = 0
        return [Onset(self._frames[0].index, self._trigger, frame)]

    def poll(self) -> list[SegmentEvent]:
        """Between frames, when the pause's transcript or turn-end answer has just come: the turn ends now if
        the silence so far is enough and `completion()` says finished, instead of at the next frame (up to
        32 ms later, and later still while the frame loop is behind the microphone)."""
        if self.state != PAUSE or self.manual or self._silent * FRAME_MS < self.endpoint.min_silence_ms:
            return []
        return [self._end("complete")] if self.completion() else []

    def _end(self, reason: str, keep_all: bool = False) -> End:
        frames = self._frames
        last_voiced = self._last_voiced if self._last_voiced >= 0 else frames[-1].index
        if not keep_all:
            keep = self._frames_for(self.endpoint.trailing_keep_ms)
            frames = [f for f in frames if f.index <= last_voiced + keep]
        audio = np.concatenate([f.audio for f in frames]) if frames else np.zeros(0, np.float32)
        end = End(reason, audio, self._frames[0].index, last_voiced, self._silent * FRAME_MS, self._frames[-1])
        # The frames after the cut are the pre-roll of whatever comes next.
        self._pre.clear()
        for f in self._frames[-self._pre.maxlen :]:
            self._pre.append(f)
        self._frames = []
        self.state = IDLE
        self.manual = False if reason != "manual" else self.manual
        self._reset_counters()
        return end

    def reset(self) -> None:
        self._frames = []
        self._pre.clear()
        self.state = IDLE
        self._reset_counters()


# -- does the transcript look finished? ---------------------------------------------------------
# Words after which an English sentence cannot end: articles, conjunctions, possessives, fillers
# ("remove the noise from the …", "and then …"), and prepositions unless it was a question
# ("which file did that come from?").
_NEVER_LAST = set(
    """a an the and or but so then because if when while than as my your his her its our
their every each whose um uh er erm hmm""".split()
)
_PREPOSITIONS = set("""with without to from of for in on at by into onto about like""".split())
# Short answers that are complete on their own, even unpunctuated.
_COMPLETE_SHORT = set(
    """yes no yeah yep nope ok okay stop cancel undo redo thanks thank hello hi hey
sure great perfect done again louder quieter play pause continue quit exit help""".split()
)


def transcript_looks_complete(text: str) -> bool:
    """A cheap turn-completion check on a transcript (Whisper punctuates what it hears as finished).

    Finished: ends with . ? or ! and its last word is not one a sentence cannot end on; or is one
    of the short complete answers. Not finished: ends with a comma, dash, ellipsis or a
    continuation word ("remove the noise from the …", "and then").
    """
    t = text.strip()
    if not t:
        return False
    if t.endswith(("...", "…", ",", "-", "–", "—", ":", ";")):
        return False
    words = re.findall(r"[a-z0-9']+", t.lower())
    if not words:
        return False
    last = words[-1]
    if last in _NEVER_LAST or (last in _PREPOSITIONS and not t.endswith("?")):
        return False
    if t.endswith(("?", "!", ".")):
        return True
    return len(words) <= 2 and all(w in _COMPLETE_SHORT for w in words)
