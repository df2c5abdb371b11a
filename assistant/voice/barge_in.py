"""Speech over the assistant's voice: hold the reply at once, then let a transcript decide.

    Candidate (maybe the user)  → the reply pauses (that is what the user notices)
    Onset (the VAD is sure)     → still paused; the running turn goes on, tentatively
    a transcript                → the user's words (a partial's or the whole utterance's): the turn
                                  stops for good (`TurnCancel.stop("barge-in")`: `Interrupted`, the
                                  history keeps what was heard);
                                  the reply's own words leaking past the echo canceller, or Whisper's
                                  words for noise, in the whole utterance: the reply resumes where it
                                  paused (`BargeInDismissed`)
    Transient (a cough, a click) → the reply resumes

Without `confirm_with_transcript` the onset stops the reply at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import BargeInOptions
from ..events import BargeInDismissed, Event
from ..turn import TurnCancel
from .gates import heard_over_reply, norm


@dataclass
class _Tentative:
    """Speech over the reply, not yet known to be the user's: the speaker is paused, the turn runs on."""

    turn: TurnCancel | None
    at_s: float


class BargeIn:
    def __init__(self, options: BargeInOptions, speaker, emit: Callable[[Event], None]) -> None:
        self.options = options
        self.speaker = speaker  # voice/speaker.py Speaker, or None (nothing is spoken)
        self.emit = emit
        self.tentative: _Tentative | None = None
        self.over_reply = False  # the current utterance began over the assistant's voice

    def speaking(self) -> bool:
        return self.speaker is not None and self.speaker.busy

    def on_candidate(self, mode: str) -> None:
        """Maybe the user: hold the reply now, decide when the VAD is sure."""
        if self.speaking() and self.options.enabled and mode != "push_to_talk":
            self.speaker.pause()

    def on_onset(self, at_s: float, turn: TurnCancel | None, mode: str) -> None:
        """Confirmed speech. Over the voice or a running turn, it is a barge-in: tentative while a
        transcript can still tell the user from our own echo, else the turn stops now."""
        speaking = self.speaking()
        barge_in = (speaking or turn is not None) and self.options.enabled and mode != "push_to_talk"
        self.over_reply = barge_in
        self.tentative = None
        if not barge_in:
            return
        if speaking and self.options.confirm_with_transcript:
            self.speaker.pause()
            self.tentative = _Tentative(turn, at_s)
        else:
            self.stop(turn)

    def on_transient(self) -> None:
        """It was a cough or a click: the reply goes on where it paused."""
        if self.speaker is not None and self.speaker.paused:
            self.speaker.resume()

    def settle(self, text: str, final: bool) -> str | None:
        """A transcript of the speech that paused the reply: the user's words stop it for good (None);
        our own voice, or Whisper's words for noise, resume it where it paused (returns why) — but only
        on the whole utterance (`final`): a partial decides only when it holds the user's words."""
        tentative = self.tentative
        if tentative is None or (not final and not norm(text)):
            return None
        spoken = self.speaker.recently_spoken(tentative.at_s) if self.speaker is not None else ""
        reason = heard_over_reply(text, spoken)
        if reason is not None and not final:
            return None  # Whisper makes "Thank you." of the first half second of "Stop talking"
        self.tentative = None
        if reason is None:
            self.stop(tentative.turn)
            return None
        self.over_reply = False
        if self.speaker is not None:
            self.speaker.resume()
        self.emit(BargeInDismissed(reason, text))
        return reason

    def stop(self, turn: TurnCancel | None) -> None:
        """Stop for good: the voice first (what the user notices), then the turn, which records what was heard."""
        if self.speaker is not None:
            self.speaker.stop()
        if turn is not None:
            turn.stop("barge-in")

    def reset(self) -> None:
        self.tentative = None
        self.over_reply = False
