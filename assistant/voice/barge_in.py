"""Speech over the assistant's voice: hold the reply at once, then let a transcript decide.

    Candidate (maybe the user)  → the reply pauses (that is what the user notices)
    Onset (the VAD is sure)     → still paused; the running turn goes on, tentatively
    a transcript                → the user's words (the whole utterance's, or a partial's that is
                                  plainly not the reply's own or asks for quiet): the turn
                                  stops for good (`TurnCancel.stop("barge-in")`: `Interrupted`, the
                                  history keeps what was heard);
                                  the reply's own words leaking past the echo canceller, or Whisper's
                                  words for noise, in the whole utterance: the reply resumes where it
                                  paused (`BargeInDismissed`) — a short one read as noise ("So.") is read
                                  again biased toward "Stop." first (`settle_final`)
    Transient (a cough, a click) → the reply resumes — unless its transcript is a bare "Stop." (a word
                                  too short for the VAD's onset): then the reply stops as for any barge-in
    speech soon after a stop      → its tail ("Stop." … "please"): stop words in it start no turn

Without `confirm_with_transcript` the onset stops the reply at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..config import BargeInOptions
from ..events import BargeInDismissed, Event, SpeechDiscarded
from ..turn import TurnCancel
from .gates import heard_over_reply, is_noise_words, norm, partial_is_user, reads_as_stop


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
        self.held_at_s = 0.0  # when the last candidate paused the reply
        self.stopped_by_s: float | None = None  # when the speech that last stopped a reply began
        self._check: asyncio.Task | None = None  # a transient over the reply, being transcribed

    def speaking(self) -> bool:
        return self.speaker is not None and self.speaker.busy

    def on_candidate(self, mode: str, at_s: float = 0.0) -> None:
        """Maybe the user: hold the reply now, decide when the VAD is sure."""
        if self.speaking() and self.options.enabled and mode != "push_to_talk":
            self.speaker.pause()
            self.held_at_s = at_s

    def holding(self) -> bool:
        """The reply is paused for a candidate that has not become speech (nor been let go)."""
        return self.speaker is not None and self.speaker.paused and self.tentative is None

    def on_onset(self, at_s: float, turn: TurnCancel | None, mode: str) -> None:
        """Confirmed speech. Over the voice or a running turn, it is a barge-in: tentative while a
        transcript can still tell the user from our own echo, else the turn stops now."""
        speaking = self.speaking()
        barge_in = (speaking or turn is not None) and self.options.enabled and mode != "push_to_talk"
        tail = self.stopped_by_s is not None and 0.0 <= at_s - self.stopped_by_s <= self.options.stop_tail_s
        self.over_reply = barge_in or tail
        self.tentative = None
        if not barge_in:
            return
        if speaking and self.options.confirm_with_transcript:
            self.speaker.pause()
            self.tentative = _Tentative(turn, at_s)
        else:
            self.stop(turn, at_s)

    def on_transient(self) -> None:
        """It was a cough or a click: the reply goes on where it paused."""
        if self.speaker is not None and self.speaker.paused:
            self.speaker.resume()

    def check_transient(
        self,
        audio,
        transcribe: Callable[..., Awaitable[object]],
        quiet: Callable[[], bool],
        turn: Callable[[], TurnCancel | None],
    ) -> bool:
        """A transient while a candidate holds the reply: "Stop." is too short to become an onset over the
        reply, so its transcript decides (the reply stays paused meanwhile). False: nothing to check."""
        if audio is None or not self.holding():
            return False
        self._check = asyncio.create_task(self._stop_word(audio, transcribe, quiet, turn))
        return True

    async def _stop_word(self, audio, transcribe, quiet, turn) -> None:
        try:
            # Biased toward "stop" (Whisper made "stuff." of hibari's "Stop." over the reply); a cough
            # still reads as nothing or as "Thank you.", which does not stop it (gates.is_bare_stop).
            result = await transcribe(audio, hotwords="Stop.")
        except Exception:  # no transcript: the reply goes on, as after any transient
            result = None
        if self.tentative is not None or not quiet():
            return  # the user went on speaking: that utterance decides
        text = result.text if result is not None else ""
        spoken = self.speaker.recently_spoken(self.held_at_s) if self.speaker is not None else ""
        stopped = reads_as_stop(result, spoken)
        if stopped:
            self.stop(turn(), self.held_at_s)
        else:
            self.on_transient()
        self.emit(SpeechDiscarded("stop_command" if stopped else "transient", text.strip()))

    async def settle_final(self, result, audio, transcribe: Callable[..., Awaitable[object]]):
        """The whole utterance's transcript (`result`), as `settle(…, final=True)` takes it — but a short
        utterance over the reply that Whisper read as its words for noise ("So.") is read again biased toward
        "Stop.", as a transient is: tiny.en read hibari's bare "Stop." over the reply as "So." in runs T and
        P of `earshot bench latency` (dismissed as noise, the reply went on). Returns (why it was dismissed
        or None, the transcript that decided)."""
        tentative = self.tentative
        if (
            tentative is not None
            and len(audio) <= self.options.stop_reread_max_s * 16_000
            and is_noise_words(result.text)
        ):
            spoken = self.speaker.recently_spoken(tentative.at_s) if self.speaker is not None else ""
            try:
                again = await transcribe(audio, hotwords="Stop.")
            except Exception:  # noqa: BLE001 - no second reading: the first one decides
                again = None
            if reads_as_stop(again, spoken):
                result = again
        return self.settle(result.text, final=True), result

    def pending(self) -> list[asyncio.Task]:
        return [self._check] if self._check is not None and not self._check.done() else []

    def cancel_check(self) -> None:
        if self._check is not None:
            self._check.cancel()

    def settle(self, text: str, final: bool) -> str | None:
        """A transcript of the speech that paused the reply: the user's words stop it for good (None);
        our own voice, or Whisper's words for noise, resume it where it paused (returns why) — but only
        on the whole utterance (`final`): a partial decides only when it holds the user's words."""
        tentative = self.tentative
        if tentative is None or (not final and not norm(text)):
            return None
        spoken = self.speaker.recently_spoken(tentative.at_s) if self.speaker is not None else ""
        if not final and not partial_is_user(text, spoken):
            return None  # Whisper makes "Thank you." of the first half second of "Stop talking"
        reason = heard_over_reply(text, spoken)
        self.tentative = None
        if reason is None:
            self.stop(tentative.turn, tentative.at_s)
            return None
        self.over_reply = False
        if self.speaker is not None:
            self.speaker.resume()
        self.emit(BargeInDismissed(reason, text))
        return reason

    def stop(self, turn: TurnCancel | None, speech_at_s: float | None = None) -> None:
        """Stop for good: the voice first (what the user notices), then the turn, which records what was
        heard. `speech_at_s`: when the speech that stopped it began (its tail starts no turn)."""
        self.stopped_by_s = speech_at_s
        if self.speaker is not None:
            self.speaker.stop()
        if turn is not None:
            turn.stop("barge-in")

    def reset(self) -> None:
        self.tentative = None
        self.over_reply = False
