"""The voice loop's decisions about what it heard, as pure functions (no audio, no models, no state).

Like pipecat's turn strategies, each check is small and tested on its own; the loop only acts on the
verdicts:

- `accept_transcript`: is this speech addressed to us, or a cough read as "Hm.", Whisper's words for
  silence?
- `heard_over_reply` / `echo_of`: speech heard while the assistant talks — the user, or its own voice
  leaking past the echo canceller? `partial_is_user`: the same, surer, for half an utterance;
- `is_stop_command`: "stop", "okay, wait" said over the reply are the interruption itself, not a request;
  `is_bare_stop`: the same for a word too short to be an onset ("Stop."), heard as a transient, and
  `reads_as_stop` when Whisper is also sure it heard speech and the speaker did not say it;
- `judge_utterance`: the whole chain for a final transcript, with the wake phrase when that mode is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from ..audio.wake import WakeMatch, WakeMatcher
from ..config import ListenOptions
from ..errors import EarshotError

MODES = ("always", "push_to_talk", "wake")


def checked_mode(mode: str) -> str:
    """`mode` if it is a listening mode, else the error that lists them (config.toml, /mode, --mode)."""
    if mode not in MODES:
        raise EarshotError(f"unknown listening mode {mode!r}", f"use one of {', '.join(MODES)}")
    return mode


# Said over the assistant's voice, these mean "be quiet": the barge-in already did it, no turn follows.
STOP_WORDS = {
    "stop",
    "it",
    "that",
    "talking",
    "please",
    "quiet",
    "be",
    "shut",
    "up",
    "enough",
    "that's",
    "thats",
    "ok",
    "okay",
    "cancel",
    "never",
    "mind",
    "nevermind",
    "hush",
    "silence",
    "wait",
    "no",
    "thanks",
    "thank",
    "you",
    "sorry",
}
# What Whisper says about silence and noise when it has nothing to say (its training data's credits).
HALLUCINATIONS = {
    "you",
    "thank you",
    "thanks for watching",
    "thank you for watching",
    "bye",
    "so",
    "uh",
    "um",
    "hmm",
    "mm",
    "oh",
    "ah",
    "the end",
    "subtitles by the amaraorg community",
}


def norm(text: str) -> str:
    """Lower-case words only: how transcripts are compared."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def echo_of(transcript: str, spoken: str, min_ratio: float = 0.72) -> bool:
    """Does this transcript look like a stretch of what the assistant just said (its own voice
    leaking past the echo canceller)? Letter similarity against every window of the spoken words; a single
    word only by the word itself."""
    words, said = norm(transcript).split(), norm(spoken).split()
    if not words or not said:
        return False
    if len(words) == 1:
        # One word is too little for a letter match: "Scott.", "Start." and "Top." (Whisper's readings of a
        # "Stop." said over the reply) came out 0.72–0.8 like "so that" and "to". It is ours only when the
        # reply has it, or it is a clipped word of ours ("Trim." heard from "Trimmed …").
        word = words[0]
        return word in said or (len(word) >= 3 and any(w.startswith(word) for w in said))
    target = "".join(words)
    best = 0.0
    for size in {len(words) - 1, len(words), len(words) + 1}:  # two words at least from here
        for i in range(0, max(1, len(said) - size + 1)):
            best = max(best, SequenceMatcher(None, target, "".join(said[i : i + size]), autojunk=False).ratio())
    return best >= min_ratio


def heard_over_reply(text: str, spoken: str) -> str | None:
    """Speech heard while the assistant talks: None when it may be the user (the reply stops for
    good, as it always did), else why it is not — "own_voice": the transcript is a stretch of the
    reply, which the echo canceller let through (it re-converges for up to a second when the reply
    starts or the room's echo changes); "no_speech": the words Whisper makes of noise ("Thank you.").
    An empty or unreadable transcript stops the reply: the VAD heard speech, and the user's control
    matters more than an unbroken answer."""
    normed = norm(text)
    if not normed:
        return None
    if is_noise_words(text):
        return "no_speech"
    return "own_voice" if echo_of(text, spoken) else None


def is_noise_words(text: str) -> bool:
    """Is this what Whisper writes for silence and noise ("Thank you.", "So.")?"""
    return norm(text) in HALLUCINATIONS


def sure_of_speech(result) -> bool:
    """Does Whisper's own confidence (`no_speech_prob`, `avg_logprob`) say it heard speech?"""
    return not (result.no_speech_prob > 0.6 and result.avg_logprob < -1.0)


def accept_transcript(result, min_chars: int) -> bool:
    """Is this transcript speech addressed to us (not a cough read as "Hm.", not silence)? `result`
    carries Whisper's own confidence (`no_speech_prob`, `avg_logprob`)."""
    normed = norm(result.text.strip())
    if len(normed) < min_chars:
        return False
    if not sure_of_speech(result):
        return False
    return not (is_noise_words(normed) and result.avg_logprob < -0.5)


# A short sound over the reply is taken for "be quiet" only when one of these is among its words: alone,
# "thank you" or "okay" is what Whisper makes of a cough or a breath as often as what a user said.
STOP_CORE = {"stop", "quiet", "enough", "cancel", "hush", "silence", "wait", "shut"}
# What is left of "Stop, please" when the echo canceller's suppressor ate the "stop" (measured through
# PulseAudio with the echo as loud as the voice: 4 of 40 runs heard only "Please."). Not "okay": see above.
STOP_REMNANTS = {"please"}


def is_bare_stop(text: str) -> bool:
    """A word or two too short for the VAD's onset ("Stop.", "Quiet!", or the "Please." of a "Stop,
    please" whose "stop" the echo canceller removed), transcribed from a transient over the reply: stop
    words only, at least one that asks for quiet, and not what Whisper makes of a cough ("Thank you.")."""
    words = set(norm(text).split())
    return bool(words & (STOP_CORE | STOP_REMNANTS)) and words <= STOP_WORDS and not is_noise_words(text)


def reads_as_stop(result, spoken: str) -> bool:
    """A transcript of a short sound over the reply (read biased toward "Stop.") that asks for quiet: a bare
    stop word (`is_bare_stop`), Whisper sure it heard speech, and not a word of what the speaker played."""
    return (
        result is not None and sure_of_speech(result) and is_bare_stop(result.text) and not echo_of(result.text, spoken)
    )


def is_stop_command(text: str) -> bool:
    """Only words like "stop", "please", "okay, wait" (the echo canceller may have eaten the "stop" of
    "stop, please"): said over the assistant's voice, they are the interruption, not a new request."""
    words = norm(text).split()
    return bool(words) and set(words) <= STOP_WORDS


# A partial transcript is of the utterance's first half second or so, and Whisper guesses at its cut-off
# last word ("So that you're" for the reply's own "so that there…", 0.70 alike): a partial that is this
# much like the reply waits for the whole utterance unless it asks for quiet. The user's words are less
# alike ("Stop talking." 0.50, "Actually, denoise it" 0.55 against a long reply).
PARTIAL_ECHO_RATIO = 0.6


def partial_is_user(text: str, spoken: str) -> bool:
    """May a partial transcript of speech over the reply stop it for good, before the utterance ends?
    Only when it is plainly not the reply's own words, or asks for quiet ("Stop", "Wait, what", "Please")."""
    if heard_over_reply(text, spoken) is not None:
        return False
    if set(norm(text).split()) & (STOP_CORE | STOP_REMNANTS):
        return True  # "Please." is the first half second of "Please stop." (bench latency run H: 499 ms)
    return not echo_of(text, spoken, min_ratio=PARTIAL_ECHO_RATIO)


@dataclass(frozen=True)
class Verdict:
    """What a final transcript is: a request to run (`text`), a bare wake phrase (`wake_only`: open the
    follow-up window), or nothing for us (`discard`, with the reason)."""

    text: str = ""
    discard: str | None = None
    wake: WakeMatch | None = None
    wake_only: bool = False


def judge_utterance(
    result, *, options: ListenOptions, mode: str, own_voice: str, over_reply: bool, awake: bool, wake: WakeMatcher
) -> Verdict:
    """The checks a final transcript passes before it becomes a turn, in order. `own_voice`: what the
    speaker played around the speech onset; `over_reply`: the speech began while the assistant talked;
    `awake`: inside the window a bare wake phrase opened."""
    text = result.text.strip()
    if not accept_transcript(result, options.min_transcript_chars):
        return Verdict(discard="no_speech")
    if echo_of(text, own_voice):
        return Verdict(discard="own_voice")  # last line of defence: we were saying it ourselves
    if over_reply and is_stop_command(text):
        return Verdict(discard="stop_command")
    if mode != "wake" or awake:
        return Verdict(text=text)
    match = wake.match(text)
    if not match.accepted:
        return Verdict(discard="no_wake_phrase")
    if len(norm(match.remainder)) < options.min_transcript_chars:
        return Verdict(wake=match, wake_only=True)
    return Verdict(text=match.remainder, wake=match)
