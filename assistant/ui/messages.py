"""Textual messages the UI passes around, and the small interface the voice loop plugs into.

Pipeline events arrive on the voice loop's thread through `Assistant.emit`; `post_message` is
thread-safe, so each event is wrapped in `PipelineEvent` and handled on the UI thread, never drawn
from the worker. The voice loop (voice/loop.py, through ui/voice_bridge.py) reports through
`VoiceStatus`: a frozen snapshot the listening widget draws, whatever produces it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from textual.message import Message

from ..events import Event

# Names follow the voice-loop issue: VAD states and listening modes as the user reads them.
VadState = Literal["idle", "hearing", "thinking", "speaking"]
ListeningMode = Literal["always", "push_to_talk", "wake_phrase"]
LISTENING_MODES: tuple[ListeningMode, ...] = ("always", "push_to_talk", "wake_phrase")
MODE_LABELS = {"always": "always listening", "push_to_talk": "push-to-talk", "wake_phrase": "wake phrase"}


@dataclass(frozen=True, slots=True)
class VoiceStatus:
    """What the listening widget shows. `voice_loop=False` means nothing is listening at all."""

    voice_loop: bool = False
    microphone: str | None = None  # device name; None when no input device exists
    vad_state: VadState = "idle"
    level_db: float = -90.0  # input level (dBFS), for the meter
    partial: str = ""  # partial transcript while the user speaks
    mode: ListeningMode = "always"


class VoiceControl(Protocol):
    """What the TUI needs of its voice loop (ui/voice_bridge.py `TuiVoice` is the one there is): every
    turn, typed or spoken, runs on it. `status` may be called from any thread with a fresh VoiceStatus
    (level ~10×/s, state changes)."""

    def bind(self, assistant, emit: Callable[[Event], None], turn_done: Callable[[], None]) -> None: ...

    def start(self, status: Callable[[VoiceStatus], None]) -> None: ...

    def set_mode(self, mode: ListeningMode) -> None: ...

    def talk(self) -> None:
        """Push-to-talk: start capturing, or end the utterance if capturing (terminals have no key-up)."""

    def run_text(self, text: str) -> None:
        """Run a typed request as a turn; raises EarshotError (shown to the user) when it cannot now."""

    def interrupt(self) -> None:
        """Esc: the same stop as a barge-in."""

    def stop(self) -> None: ...


class PipelineEvent(Message):
    """One typed pipeline event, marshalled onto the UI thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class VoiceStatusChanged(Message):
    def __init__(self, status: VoiceStatus) -> None:
        super().__init__()
        self.status = status


class ModelsStatus(Message):
    """Model loading progress: `fraction` None while unknown; `done` when the first turn can run."""

    def __init__(self, text: str, fraction: float | None = None, done: bool = False, error: str | None = None) -> None:
        super().__init__()
        self.text = text
        self.fraction = fraction
        self.done = done
        self.error = error


class TurnDone(Message):
    """The worker running a turn has finished (ok, failed or interrupted)."""


class ArtifactChosen(Message):
    """The user asked to use an artifact in the next request (`@a3` goes into the input)."""

    def __init__(self, ref: str) -> None:
        super().__init__()
        self.ref = ref
