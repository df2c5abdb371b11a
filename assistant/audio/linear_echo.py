"""The barge-in side channel's echo canceller: linear only, so a word said over the reply keeps its level.

`audio/aec.py`'s `EchoStage` runs it beside AEC3 on the same microphone frames, with the reference at a
locked sample offset; `audio/frames.py` listens to what it leaves while the speaker plays.
"""

from __future__ import annotations

import collections

import numpy as np

from .spectra_line import SpectraLine

BLOCK = 160  # samples a block: 10 ms at 16 kHz, one AEC3 frame
RATE_HZ = 16_000
# `trusted()` judges the blocks of reply from 1 s to 0.2 s ago, counted since the pairing last changed; with
# fewer than TRUST_MIN_BLOCKS of them it is not trusted (a cold start, a restart of the speaker). The lag leaves
# out the first frames of a word said over the reply (the side channel confirms the user within ~100 ms, and
# from then on nothing is judged): they must not count against it while that word is being judged.
TRUST_WINDOW_BLOCKS = 100
TRUST_LAG_BLOCKS = 20
TRUST_MIN_BLOCKS = 20


class LinearEcho:
    """A linear-only echo canceller, run beside AEC3 for barge-in (see `EchoStage`): what it leaves of a
    short word said over the reply is the word itself, at its own level.

    AEC3's non-linear suppressor takes most of a near-end "Stop." together with the echo (silero gave it
    0.07–0.48 after AEC3, so no onset); a linear filter cannot remove what is not in the reference.
    Written here because no maintained Python library runs a frequency-domain adaptive filter in real time
    (speexdsp's needs a C build; padasip/pyroomacoustics adapt sample by sample in Python).

    A partitioned-block frequency-domain adaptive filter (overlap-save, one 10 ms block per partition,
    `taps_ms` of echo path) in two copies: the background adapts on every block with sound in the
    reference (NLMS per bin, a partition-proportionate step: the partitions holding the echo path adapt
    fastest); the foreground, whose residual is the output, copies the background only when that cancels
    clearly better for `copy_blocks` blocks, and the background starts again from the foreground when it
    diverges (double talk) — so the user's voice never disturbs the output filter. Measured offline on the
    latency bench's room: 32–38 dB ERLE once converged (AEC3 ~41 dB with its suppressor), all five bench
    phrases — the bare "Stop." too — detected 114–193 ms after their onset, none lost in level, no false
    onset in 6 minutes of reply echo; ~0.2 ms a 10 ms frame. It needs the reference at a fixed sample offset
    from the microphone (`EchoStage` keeps it so): the pairing wandering by 1 ms a frame leaves ~3 dB."""

    def __init__(
        self,
        taps_ms: float = 440.0,
        step: float = 1.0,
        proportionate: float = 0.5,
        copy_ratio: float = 0.9,
        copy_blocks: int = 2,
        reset_ratio: float = 4.0,
    ) -> None:
        n = BLOCK
        self.partitions = int(np.ceil(taps_ms * RATE_HZ / 1000 / n))
        bins = n + 1
        self._fg = np.zeros((self.partitions, bins), np.complex128)  # the output filter
        self._bg = np.zeros((self.partitions, bins), np.complex128)  # the adapting filter
        self._x = SpectraLine(self.partitions, n)  # the reference's block spectra, newest first
        self.step, self.proportionate = step, proportionate
        self.copy_ratio, self.copy_blocks, self.reset_ratio = copy_ratio, copy_blocks, reset_ratio
        self._reg = self.partitions * 2 * n * (10 ** (-50 / 20)) ** 2 * n  # regularisation: a -50 dBFS floor
        self._active = (10 ** (-60 / 20)) ** 2 * n  # reference energy of a block with sound in it
        self._e_fg = self._e_bg = 1e-9  # smoothed residual energies of the two filters
        self._better = 0
        self._silent_blocks = 0  # reference blocks in a row that were all zeros (nothing playing)
        self.adapting = True  # False while the user is heard (set by audio/frames.py): double talk
        self.frozen = False  # True while its reference pairing is being found again (set by EchoStage)
        # (microphone, residual) energy of the last blocks with sound in the reference: how well it cancels.
        self._recent: collections.deque[tuple[float, float]] = collections.deque(maxlen=TRUST_WINDOW_BLOCKS)

    def process(self, mic: np.ndarray, reference: np.ndarray) -> np.ndarray:
        n = BLOCK
        d = np.asarray(mic, np.float64)
        x = np.asarray(reference, np.float64)
        self._silent_blocks = 0 if np.any(x) else self._silent_blocks + 1
        if self._silent_blocks > self.partitions + 1:
            # Nothing has played for longer than the filter reaches: every reference spectrum it holds is
            # zero, so its echo estimate is zero and the residual is the microphone — the same output and
            # state as the full block below, without its ~0.15 ms (most of the time, and the user's every
            # request, is spoken with nothing playing).
            energy = float(d @ d)
            self._smooth_residuals(energy, energy)
            return d.astype(np.float32)
        self._x.push(x)
        e_fg = d - self._x.filter(self._fg)
        e_bg = d - self._x.filter(self._bg)
        residual = float(e_fg @ e_fg)
        # It is judged on echo alone: not while the user is heard (their words are in the residual too: a
        # barge-in left the filter untrusted for the first second of the next reply). It adapts on echo alone
        # and not on a block that may be paired a few samples off (frozen) — but it is judged on those: how
        # well the filter cancels with the pairing it has is what says whether its residual is the user.
        judged = self.sounding(x) and self.adapting
        if judged:
            self._recent.append((float(d @ d), residual))
        active = judged and not self.frozen
        if active:
            err = np.fft.rfft(np.concatenate([np.zeros(n), e_bg]))
            norms = np.sqrt(np.sum(np.abs(self._bg) ** 2, axis=1))
            gain = self.proportionate + (1 - self.proportionate) * self.partitions * norms / (norms.sum() + 1e-9)
            spectra = self._x.spectra
            power = np.sum(np.abs(spectra) ** 2 * gain[:, None], axis=0)
            grad = np.conj(spectra) * gain[:, None] * (err * (self.step / (power + self._reg)))[None, :]
            g = np.fft.irfft(grad, 2 * n, axis=1)
            g[:, n:] = 0.0  # the gradient constraint: a linear (not circular) convolution
            self._bg += np.fft.rfft(g, axis=1)
        self._smooth_residuals(residual, float(e_bg @ e_bg))
        if active:
            if self._e_bg < self.copy_ratio * self._e_fg:
                self._better += 1
                if self._better >= self.copy_blocks:
                    self._fg[:] = self._bg
                    self._e_fg, self._better = self._e_bg, 0
            else:
                self._better = 0
                if self._e_bg > self.reset_ratio * self._e_fg:
                    self._bg[:] = self._fg
                    self._e_bg = self._e_fg
        return e_fg.astype(np.float32)

    def _smooth_residuals(self, fg_energy: float, bg_energy: float) -> None:
        """The two filters' residual energies, smoothed over a few blocks: what the copy and reset compare."""
        self._e_fg = 0.7 * self._e_fg + 0.3 * fg_energy
        self._e_bg = 0.7 * self._e_bg + 0.3 * bg_energy

    def sounding(self, reference: np.ndarray) -> bool:
        """Has this block of reference sound in it (what it adapts on and is judged on)?"""
        x = np.asarray(reference, np.float64)
        return float(x @ x) > self._active

    def forget(self) -> None:
        """The pairing changed (a restart of the speaker, a relock, a move): how well it cancelled before says
        nothing about now. Until it has been judged again it is not trusted."""
        self._recent.clear()

    def trusted(self, min_erle_db: float = 12.0) -> bool:
        """Has it been cancelling the echo (≥ `min_erle_db`) over the blocks of reply from 1 s to 0.2 s ago,
        since its pairing last changed? Before convergence, or after the echo moved (an output underrun) and
        until it has learnt it again, its residual is the reply itself, and what it hears is not the user.
        A pairing still being checked (frozen) is trusted when it cancels: the clocks are often right, and
        the first seconds of a reply are when a user interrupts it."""
        blocks = list(self._recent)[:-TRUST_LAG_BLOCKS]
        if len(blocks) < TRUST_MIN_BLOCKS:
            return False
        mic = sum(b[0] for b in blocks)
        residual = sum(b[1] for b in blocks) + 1e-12
        return 10 * np.log10(mic / residual + 1e-12) >= min_erle_db


def echo_likeness(residual: np.ndarray, estimate: np.ndarray, max_lag: int = 640) -> float:
    """How much of the filter's `residual` is its own `estimate` of the echo moved a little: the largest
    normalised cross-correlation of the two over lags up to `max_lag` samples (40 ms: a larger move is a
    relock), on their first differences so the low frequencies that every voice shares do not dominate.

    When the echo moved (a stall, an underrun the clocks did not see) the residual is the echo the filter
    now misplaces, which is its estimate shifted: 0.2–0.9 in the latency bench's barge-in trials. A word the
    user says over the reply is not in the estimate: 0.04–0.15 over most frames of the words AEC3's suppressor
    had muted (18 of 27 in traced runs, 64 ms windows); 0.16–0.74 over the rest, where the filter cancelled only
    a few dB just then and its residual was the word and the echo together."""
    e = np.diff(np.asarray(residual, np.float64))
    y = np.diff(np.asarray(estimate, np.float64))
    energy = float(e @ e) * float(y @ y)
    if energy <= 0.0:
        return 0.0
    n = 1 << int(np.ceil(np.log2(len(e) + max_lag + 1)))
    r = np.fft.irfft(np.fft.rfft(e, n) * np.conj(np.fft.rfft(y, n)), n)
    lags = np.concatenate([r[: max_lag + 1], r[-max_lag:]])
    return float(np.max(np.abs(lags)) / np.sqrt(energy))
