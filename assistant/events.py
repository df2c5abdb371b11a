"""Typed events: the only things that cross stage borders.

Each is a small frozen dataclass. `to_json()` gives the line `earshot ask --json` prints, with a
`type` key in snake case; the last line of a turn is always a `reply` (or an `error`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is not imported at run time here: the UI draws its first frame without it
    import numpy as np


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@dataclass(frozen=True, slots=True)
class Event:
    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": _snake(type(self).__name__)}
        for f in fields(self):
            value = getattr(self, f.name)
            if type(value).__name__ == "ndarray":
                continue  # audio stays in-process; JSON carries only what a script can use
            out[f.name] = value
        return out


@dataclass(frozen=True, slots=True)
class SpeechStarted(Event):
    """The VAD heard the user start speaking."""

    at_s: float


@dataclass(frozen=True, slots=True)
class Utterance(Event):
    """A finished stretch of user speech, ready for ASR."""

    audio: np.ndarray  # float32 mono, 16 kHz
    started_at_s: float  # monotonic clock
    ended_at_s: float  # the moment the VAD saw the last voiced frame


@dataclass(frozen=True, slots=True)
class Transcript(Event):
    """What the user said (final), with the detected language."""

    text: str
    language: str
    duration_s: float
    asr_ms: float


@dataclass(frozen=True, slots=True)
class TurnStarted(Event):
    turn_id: int
    session_id: str
    text: str
    source: str  # "typed" or "spoken"


@dataclass(frozen=True, slots=True)
class PlanReady(Event):
    """A validated plan: steps to run and/or something to say."""

    steps: tuple[dict, ...]
    say: str | None
    attempts: int
    plan_ms: float
    tokens: int
    planner: str = "llm"  # "fast": parsed by the command path (llm/commands/), no LLM call
    prompt_tokens: int = 0
    evaluated_prompt_tokens: int = 0  # not already in the KV cache (nor restored from disk)


@dataclass(frozen=True, slots=True)
class PlanRejected(Event):
    """The planner's output did not validate even after repair; nothing ran."""

    error: str
    raw: str


@dataclass(frozen=True, slots=True)
class ToolStarted(Event):
    step: int  # 1-based, as `$1` refers to it
    tool: str
    args: dict


@dataclass(frozen=True, slots=True)
class ToolProgress(Event):
    step: int
    tool: str
    fraction: float  # 0..1
    message: str = ""


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """What the user needs to know of one produced file."""

    id: str  # "a3"
    path: str
    name: str
    kind: str  # "audio", "text", "midi", "json"
    duration_s: float | None
    sample_rate_hz: int | None
    channels: int | None


@dataclass(frozen=True, slots=True)
class ToolFinished(Event):
    step: int
    tool: str
    status: str  # "ok", "failed", "timeout", "cancelled"
    duration_s: float
    summary: str
    artifacts: tuple[ArtifactInfo, ...] = ()
    error: str | None = None
    data: dict = field(default_factory=dict)  # the tool's facts: a transcript's text, measured loudness…

    def to_json(self) -> dict[str, Any]:
        out = Event.to_json(self)
        out["artifacts"] = [asdict(a) for a in self.artifacts]
        return out


@dataclass(frozen=True, slots=True)
class ReplySentence(Event):
    """One sentence of the reply, emitted as soon as it is known (TTS speaks it while the next is made)."""

    text: str
    index: int


@dataclass(frozen=True, slots=True)
class AudioOut(Event):
    """Synthesised reply audio about to be played."""

    audio: np.ndarray
    sample_rate_hz: int
    sentence_index: int


@dataclass(frozen=True, slots=True)
class Interrupted(Event):
    """Barge-in or Ctrl+C: in-flight work is cancelled; `heard` is what the user actually heard."""

    reason: str
    heard: str = ""


@dataclass(frozen=True, slots=True)
class BargeInDismissed(Event):
    """Speech over the reply that was not the user after all: its transcript was the assistant's own
    voice leaking past the echo canceller, or the words Whisper makes of noise. The paused reply goes on."""

    reason: str  # "own_voice" or "no_speech"
    text: str = ""


@dataclass(frozen=True, slots=True)
class Reply(Event):
    """The end of a turn: what was said and every artifact path it produced."""

    text: str
    artifacts: tuple[str, ...] = ()
    turn_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        out = Event.to_json(self)
        out["artifacts"] = list(self.artifacts)
        return out


@dataclass(frozen=True, slots=True)
class ErrorEvent(Event):
    """A failure the user can act on; the turn ends here and nothing is lost."""

    message: str
    hint: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"type": "error", "message": self.message, "hint": self.hint}


# -- the voice loop (assistant/voice.py): what a live UI needs to draw and what the bench times --
@dataclass(frozen=True, slots=True)
class InputLevel(Event):
    """The microphone level (after echo cancellation), ~10 times a second: the UI's meter."""

    level_dbfs: float
    peak_dbfs: float
    speech_prob: float  # silero's latest speech probability (0 when it is idle)


@dataclass(frozen=True, slots=True)
class VoiceState(Event):
    """What the assistant is doing: "idle", "hearing", "thinking" or "speaking"."""

    state: str
    at_s: float


@dataclass(frozen=True, slots=True)
class ModeChanged(Event):
    """The listening mode: "always", "push_to_talk" or "wake"."""

    mode: str
    wake_phrase: str = ""


@dataclass(frozen=True, slots=True)
class PartialTranscript(Event):
    """What the user has said so far, while they are still speaking (may change)."""

    text: str
    audio_s: float  # how much of the utterance it covers
    asr_ms: float


@dataclass(frozen=True, slots=True)
class SpeechPaused(Event):
    """The first silent frame after speech: final ASR and planning start speculatively now."""

    at_s: float
    last_voiced_at_s: float


@dataclass(frozen=True, slots=True)
class SpeculationCancelled(Event):
    """The user kept talking after a pause: the speculative transcript/plan was thrown away."""

    reason: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class SpeechEnded(Event):
    """The endpoint: the user's turn is over ("complete", "max_silence", "max_length", "manual")."""

    reason: str
    at_s: float
    silence_ms: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class SpeechDiscarded(Event):
    """Sound that started no turn: a cough, a slam, or words not addressed to the assistant."""

    reason: str  # "transient", "no_speech", "no_wake_phrase", "stop_command", "own_voice"
    text: str = ""


@dataclass(frozen=True, slots=True)
class WakeDetected(Event):
    """The wake phrase was heard (fuzzy match of the tiny ASR's transcript)."""

    text: str
    score: float
    request: str = ""  # what followed the phrase in the same breath, if anything


@dataclass(frozen=True, slots=True)
class PlaybackStarted(Event):
    """The first sample of a reply sentence reached the speaker (estimated from the stream clock)."""

    at_s: float
    sentence_index: int


@dataclass(frozen=True, slots=True)
class PlaybackStopped(Event):
    """Reply playback ended: "finished" or "barge_in"/"cancelled" with what had been heard."""

    reason: str
    at_s: float
    heard: str = ""


@dataclass(frozen=True, slots=True)
class TurnTiming(Event):
    """Monotonic timestamps (s) of one spoken turn's stages, for the latency benchmark.

    `last_voiced_s` is the capture time of the last frame the VAD called speech; the others are
    when each stage finished (None when a stage did not happen, e.g. no TTS with --no-speak)."""

    last_voiced_s: float
    paused_s: float | None
    endpoint_s: float
    asr_started_s: float | None
    asr_done_s: float | None
    plan_started_s: float | None
    first_sentence_s: float | None  # first sentence of the reply known (streamed `say` or composed)
    plan_done_s: float | None
    first_audio_ready_s: float | None  # first sentence synthesised
    first_audio_queued_s: float | None  # handed to the speaker
    first_audio_heard_s: float | None  # its first sample at the speaker (stream clock estimate)
    speculative: bool  # the transcript/plan used were started before the endpoint
    asr_from_partial: bool = False  # the final transcript was a partial pass's that had read all the speech
