"""Where the echo sits behind the side channel's locked reference, measured from the signals.

The linear side channel (`LinearEcho`) needs its reference at a sample-exact offset from the microphone.
`EchoStage` keeps that offset locked, but it can only find it again by the clocks — after the speaker
dropped its buffer and restarted, or after a relock — and the clocks are late by however long the
callbacks waited: on a loaded two-core machine (Whisper and the LLM start at every barge-in) a few
milliseconds off, and a filter paired 0.6 ms off fell from 37 to 7 dB. So the pairing is checked by the
signals: the lag of the generalised cross-correlation with phase transform (GCC-PHAT) between the
microphone and the locked reference while the filter cancels well, again after each such event, and once
a second while it does not cancel (the path may have moved by less than a relock notices); the pairing
moves by the difference. In the latency bench the clocks' pairing after a barge-in was 2–12 ms off (lags
85–397 against 211–213). numpy's FFT does it in ~2 ms, once a second at most.
"""

from __future__ import annotations

import collections

import numpy as np

WINDOW_FRAMES = 64  # 10 ms frames a measurement spans (0.64 s)
MIN_SOUNDING = 0.7  # …of which at least this share must have the reply in the reference
MAX_LAG = 7040  # samples: the filter's 440 ms of taps
PEAK_RATIO = 15.0  # a lag counts when its peak stands this far above the correlation's median magnitude
# (independent noise reaches ~6 over 7,040 lags; the latency bench's room gave 108–370)
REFRESH_FRAMES = 100  # how often the good lag is measured again while the filter is trusted
# After an event the side channel is blind until the pairing is checked (and for ~0.4 s after a move, while
# `LinearEcho.trusted` is judged again): a traced barge-in had the residual as loud as the microphone for the
# whole 0.64 s window after a restart, and the user's "Stop." came right after it; and after the restart that
# starts each reply the check came 0.45–0.64 s into the reply, moving the pairing by 3–27 ms. So the check is
# tried on the frames since the reference first sounded after the event, from this many on, every
# EARLY_EVERY_FRAMES, and taken when its peak is clear.
EARLY_FRAMES = 24
EARLY_EVERY_FRAMES = 8


def gcc_phat_lag(mic: np.ndarray, ref: np.ndarray, max_lag: int = MAX_LAG) -> int | None:
    """How many samples `mic` is behind `ref` (0 … max_lag), or None without a clear peak."""
    n = 1 << int(np.ceil(np.log2(len(mic) + max_lag)))
    cross = np.fft.rfft(mic, n) * np.conj(np.fft.rfft(ref, n))
    r = np.fft.irfft(cross / (np.abs(cross) + 1e-12), n)[:max_lag]
    k = int(np.argmax(r))
    if r[k] < PEAK_RATIO * float(np.median(np.abs(r))):
        return None
    return k


class PairingCheck:
    """Feeds on each 10 ms (microphone, locked reference) pair; `event()` after a restart or a relock; `push`
    returns how many samples to move the pairing by once the check after the event is done."""

    def __init__(self) -> None:
        self._mic: collections.deque[np.ndarray] = collections.deque(maxlen=WINDOW_FRAMES)
        self._ref: collections.deque[np.ndarray] = collections.deque(maxlen=WINDOW_FRAMES)
        self._sounding: collections.deque[bool] = collections.deque(maxlen=WINDOW_FRAMES)
        self.good_lag: int | None = None  # the lag while the filter cancelled well
        self.pending = False  # an event happened; the pairing is not known to be right
        self._since = 0  # frames since the event (or since the good lag was last measured)
        self._heard = 0  # frames since the reference first sounded after the event (0: not yet)

    def event(self) -> None:
        self.pending = True
        self._since = 0
        self._heard = 0

    def push(self, mic: np.ndarray, ref: np.ndarray, sounding: bool, trusted: bool) -> int:
        self._mic.append(np.asarray(mic, np.float64))
        self._ref.append(np.asarray(ref, np.float64))
        self._sounding.append(sounding)
        self._since += 1
        if self.pending and (self._heard or sounding):
            self._heard += 1
        if self.pending and self._heard < WINDOW_FRAMES:
            return self._early()
        if len(self._mic) < WINDOW_FRAMES or sum(self._sounding) < MIN_SOUNDING * WINDOW_FRAMES:
            return 0
        if self.pending:
            if self._since < WINDOW_FRAMES:  # the window must lie wholly after the event
                return 0
            self.pending = False
            self._since = 0
            lag = self._lag()
            return 0 if lag is None or self.good_lag is None else self.good_lag - lag
        if self._since >= REFRESH_FRAMES:
            self._since = 0
            lag = self._lag()
            if lag is None:
                return 0
            if trusted:
                self.good_lag = lag
            elif self.good_lag is not None and abs(lag - self.good_lag) > 1:
                # Not cancelling, and the echo is not where it was: the path moved (an underrun, a stall)
                # by less than a relock notices. The filter is still right for the old path.
                return self.good_lag - lag
        return 0

    def _early(self) -> int:
        """The check on the frames since the reference first sounded after the event, when enough of them
        have the reply in it and the correlation's peak is clear; 0 (keep waiting) otherwise."""
        n = self._heard
        if n < EARLY_FRAMES or (n - EARLY_FRAMES) % EARLY_EVERY_FRAMES or self.good_lag is None:
            return 0
        if sum(list(self._sounding)[-n:]) < MIN_SOUNDING * n:
            return 0
        lag = self._lag(n)
        if lag is None:
            return 0
        self.pending = False
        self._since = 0
        return self.good_lag - lag

    def _lag(self, frames: int = WINDOW_FRAMES) -> int | None:
        mic, ref = list(self._mic)[-frames:], list(self._ref)[-frames:]
        return gcc_phat_lag(np.concatenate(mic), np.concatenate(ref))
