"""describe: measure a file — duration, rate, channels, loudness (LUFS), true peak, silence, tempo."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

SILENCE_DBFS = -50.0  # a 50 ms frame quieter than this (RMS) counts as silence
FRAME_S = 0.05


@dataclass
class Args:
    file: Artifact


SPEC = ToolSpec(
    name="describe",
    doing="measuring {file}",
    summary="measure duration, sample rate, loudness (LUFS), true peak, silence and tempo",
    examples=("how loud is song.wav?", "what's the tempo of @a3?", "give me the duration and sample rate of take2.wav"),
    method="signal processing (ITU-R BS.1770 loudness via pyloudnorm, 4x-oversampled true peak, librosa beats)",
    learned=False,
    licence="MIT / ISC",
    timeout_s=300,
    max_memory_mb=2048,
)


def integrated_lufs(audio: np.ndarray, rate: int) -> float | None:
    """BS.1770 integrated loudness; None for clips shorter than one 400 ms gating block or pure silence."""
    import pyloudnorm

    if audio.shape[0] < int(0.4 * rate):
        return None
    value = pyloudnorm.Meter(rate).integrated_loudness(audio)
    return None if not np.isfinite(value) else float(value)


def true_peak_dbtp(audio: np.ndarray) -> float:
    """BS.1770-4 true peak: the sample peak of the signal oversampled 4x."""
    from scipy.signal import resample_poly

    x = audio if audio.ndim == 2 else audio[:, None]
    peak = max(float(np.max(np.abs(resample_poly(x[:, c], 4, 1)))) for c in range(x.shape[1]))
    return 20 * np.log10(max(peak, 1e-10))


def silence_share(mono: np.ndarray, rate: int) -> float:
    frame = max(1, int(FRAME_S * rate))
    n = len(mono) // frame
    if n == 0:
        return 1.0
    rms = np.sqrt(np.mean(mono[: n * frame].reshape(n, frame) ** 2, axis=1))
    return float(np.mean(20 * np.log10(np.maximum(rms, 1e-10)) < SILENCE_DBFS))


def measure_streaming(path, progress=None) -> dict:
    """The same measurements as the in-memory path, reading BLOCK_S seconds at a time: memory stays at a
    block plus the onset envelope tempo needs (~350 bytes a second), whatever the file's length.
    Loudness replicates pyloudnorm's BS.1770-4 gating (its filters, carried across blocks; its 400 ms
    blocks from prefix sums); the true peak oversamples each block with a context of CONTEXT frames on
    both sides, so it equals oversampling the whole file; tempo uses the onset envelope built piece by
    piece (_MelStream) and, over two minutes, tempo estimates on 30 s windows."""
    import pyloudnorm
    import soundfile as sf
    import soxr
    from scipy.signal import lfilter, lfilter_zi, resample_poly

    with sf.SoundFile(str(path)) as f:
        rate, channels, frames = f.samplerate, f.channels, f.frames
        meter = pyloudnorm.Meter(rate)
        stages = [(st.passband_gain, st.b, st.a) for st in meter._filters.values()]
        state = [[lfilter_zi(b, a) * 0.0 for _, b, a in stages] for _ in range(channels)]
        # pyloudnorm's gating blocks: [l_j, u_j) in samples, 400 ms long every 100 ms
        t_g, step = meter.block_size, 1.0 - meter.overlap
        n_blocks = int(np.round((frames / rate - t_g) / (t_g * step))) + 1 if frames >= t_g * rate else 0
        bounds = sorted(
            {int(t_g * (j * step) * rate) for j in range(n_blocks)}
            | {int(t_g * (j * step + 1) * rate) for j in range(n_blocks)}
        )
        prefix = {b: np.zeros(channels) for b in bounds if b == 0}
        energy_so_far = np.zeros(channels)
        peak, true_peak, silent, total_frames = 0.0, 0.0, 0, 0
        frame = max(1, int(FRAME_S * rate))
        carry = np.zeros((0,), np.float32)  # mono samples not yet in a whole silence frame
        tail = np.zeros((0, channels), np.float32)  # context for the true peak
        resampler = soxr.ResampleStream(rate, TEMPO_RATE_HZ, 1, dtype="float32", quality="HQ")
        mels = _MelStream()
        block = max(int(BLOCK_S * rate), 4 * CONTEXT)
        pos = 0
        while True:
            x = f.read(block, dtype="float32", always_2d=True)
            last = pos + len(x) >= frames or len(x) == 0
            if len(x):
                peak = max(peak, float(np.max(np.abs(x))))
                # true peak: oversample with CONTEXT frames of the previous block in front
                ctx_x = np.concatenate([tail, x]) if len(tail) else x
                lo = 4 * CONTEXT if len(tail) else 0
                hi = 4 * len(ctx_x) - (0 if last else 4 * CONTEXT)
                for c in range(channels):
                    up = resample_poly(ctx_x[:, c], 4, 1)
                    if hi > lo:
                        true_peak = max(true_peak, float(np.max(np.abs(up[lo:hi]))))
                tail = ctx_x[-2 * CONTEXT :]
                # loudness: K-weighting as pyloudnorm applies it (float64 filter, stored as float32)
                for c in range(channels):
                    y = x[:, c]
                    for k, (gain, b, a) in enumerate(stages):
                        out, state[c][k] = lfilter(b, a, y, zi=state[c][k])
                        y = (gain * out).astype(np.float32)
                    sq = np.cumsum(np.square(y.astype(np.float64)))
                    for bnd in bounds:
                        if pos < bnd <= pos + len(x):
                            prefix.setdefault(bnd, np.zeros(channels))[c] = energy_so_far[c] + sq[bnd - pos - 1]
                    energy_so_far[c] += sq[-1]
                # silence share on the mono mix, in whole frames
                mono = np.concatenate([carry, x.mean(axis=1)])
                n = len(mono) // frame
                if n:
                    rms = np.sqrt(np.mean(mono[: n * frame].reshape(n, frame) ** 2, axis=1))
                    silent += int(np.sum(20 * np.log10(np.maximum(rms, 1e-10)) < SILENCE_DBFS))
                    total_frames += n
                carry = mono[n * frame :]
                # tempo: the mono mix at 22.05 kHz, turned into mel frames chunk by chunk
                mels.feed(resampler.resample_chunk(x.mean(axis=1), last=last), last)
            elif last:
                mels.feed(resampler.resample_chunk(np.zeros(0, np.float32), last=True), True)
            pos += len(x)
            if progress:
                progress(0.9 * pos / max(frames, 1), "measuring")
            if last:
                break
    lufs = _gated_loudness(prefix, bounds, n_blocks, t_g, step, rate, channels)
    facts = {
        "sample_rate_hz": rate,
        "channels": channels,
        "integrated_lufs": None if lufs is None else round(lufs, 2),
        "true_peak_dbtp": round(20 * np.log10(max(true_peak, 1e-10)), 2),
        "sample_peak_dbfs": round(20 * np.log10(max(peak, 1e-10)), 2),
        "silence_share": round(silent / total_frames if total_frames else 1.0, 3),
    }
    if frames < 4 * rate or not mels.parts:
        facts["tempo_bpm"], facts["tempo_confidence"] = None, 0.0
    else:
        facts["tempo_bpm"], facts["tempo_confidence"] = tempo_from_onset(mels.envelope())
    return facts


CONTEXT = 64  # frames of context around a block for the 4x true-peak filter (its half-length is 10)
MEL_CHUNK = 1 << 20  # samples at 22.05 kHz per mel computation (~48 s; a multiple of the hop)
MEL_MARGIN = 4096  # samples on each side of a chunk whose frames are dropped (the STFT's padding)


class _MelStream:
    """Mel frames of a signal fed in pieces, equal to one melspectrogram (centred frames) of the whole:
    each chunk is computed with MEL_MARGIN samples of context on both sides, and only its own frames
    are kept."""

    def __init__(self) -> None:
        self.buf = np.zeros(0, np.float32)
        self.buf_start = 0  # global index of buf[0]
        self.kept = 0  # global index of the next frame centre to emit (a multiple of the hop)
        self.parts: list[np.ndarray] = []  # pieces of the onset envelope
        self.previous: np.ndarray | None = None  # the last log-mel frame (the flux looks one frame back)
        self.top = -np.inf  # the loudest log-mel value so far (librosa clips 80 dB below the maximum)

    def _flux(self, mel: np.ndarray) -> None:
        """librosa.onset.onset_strength's envelope (mean over bands of the rise in log-mel from one frame
        to the next, after the same 5-frame delay), computed piece by piece. One difference: the 80 dB
        floor under the loudest value follows the loudest value so far, not the whole file's."""
        import librosa

        log = librosa.power_to_db(mel, top_db=None)
        self.top = max(self.top, float(log.max()) if log.size else self.top)
        log = np.maximum(log, self.top - 80.0)
        if self.previous is None:
            self.parts.append(np.zeros(1 + 2048 // (2 * TEMPO_HOP), np.float32))  # librosa's padding
            log_prev = log
        else:
            log_prev = np.concatenate([self.previous, log], axis=1)
        self.parts.append(np.mean(np.maximum(0.0, np.diff(log_prev, axis=1)), axis=0).astype(np.float32))
        self.previous = log[:, -1:]

    def envelope(self) -> np.ndarray:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)

    def feed(self, samples: np.ndarray, last: bool) -> None:
        import librosa

        self.buf = np.concatenate([self.buf, samples])
        hop = TEMPO_HOP
        while True:
            ctx_len = self.kept - self.buf_start
            if len(self.buf) - ctx_len >= MEL_CHUNK + MEL_MARGIN:
                seg = self.buf[: ctx_len + MEL_CHUNK + MEL_MARGIN]
                n = MEL_CHUNK // hop
            elif last and len(self.buf) > ctx_len:
                seg, n = self.buf, None
            else:
                return
            mel = librosa.feature.melspectrogram(y=seg, sr=TEMPO_RATE_HZ, hop_length=hop)
            first = ctx_len // hop
            frames = mel[:, first:] if n is None else mel[:, first : first + n]
            self._flux(frames)
            if n is None:
                self.buf = np.zeros(0, np.float32)
                return
            self.kept += n * hop
            cut = self.kept - MEL_MARGIN - self.buf_start
            self.buf, self.buf_start = self.buf[cut:], self.buf_start + cut


def _gated_loudness(prefix, bounds, n_blocks, t_g, step, rate, channels) -> float | None:
    if n_blocks <= 0:
        return None
    gains = np.array([1.0, 1.0, 1.0, 1.41, 1.41][:channels])
    z = np.zeros((channels, n_blocks))
    for j in range(n_blocks):
        lo, hi = int(t_g * (j * step) * rate), int(t_g * (j * step + 1) * rate)
        z[:, j] = (prefix.get(hi, prefix[max(b for b in prefix if b <= hi)]) - prefix[lo]) / (t_g * rate)
    with np.errstate(divide="ignore"):
        loud = -0.691 + 10.0 * np.log10(gains @ z)
        above = loud >= -70.0
        if not above.any():
            return None
        relative = -0.691 + 10.0 * np.log10(gains @ z[:, above].mean(axis=1)) - 10.0
        gated = (loud > relative) & (loud > -70.0)
        if not gated.any():
            return None
        value = -0.691 + 10.0 * np.log10(gains @ z[:, gated].mean(axis=1))
    return float(value) if np.isfinite(value) else None


TEMPO_RATE_HZ = 22050
TEMPO_HOP = 256  # 11.6 ms onset frames: fine enough that the fitted beat period is within 1 %
TEMPO_LONG_FRAMES = 120 * TEMPO_RATE_HZ // TEMPO_HOP  # over two minutes, tempo is estimated on windows…
TEMPO_WINDOW_FRAMES = 30 * TEMPO_RATE_HZ // TEMPO_HOP  # …of 30 s


def tempo_bpm(mono: np.ndarray, rate: int) -> tuple[float | None, float]:
    """Tempo and a 0..1 confidence. None when there is no steady beat (speech, noise, ambience).

    librosa's beat tracker places the beats; the tempo is then the slope of a straight line through
    the beat times (a whole-clip average, far finer than the tracker's tempogram bins). Confidence is
    the onset envelope's normalised autocorrelation at the beat period: a real pulse repeats itself,
    while the tracker will happily lay an even grid over noise."""
    import librosa

    if len(mono) < 4 * rate:
        return None, 0.0
    y = librosa.resample(mono, orig_sr=rate, target_sr=TEMPO_RATE_HZ) if rate != TEMPO_RATE_HZ else mono
    onset = librosa.onset.onset_strength(y=y, sr=TEMPO_RATE_HZ, hop_length=TEMPO_HOP)
    return tempo_from_onset(onset)


def tempo_from_onset(onset: np.ndarray) -> tuple[float | None, float]:
    """Tempo and confidence from an onset-strength envelope at TEMPO_RATE_HZ / TEMPO_HOP."""
    import librosa

    if onset.max() <= 1e-6:
        return None, 0.0
    bpm = None
    if len(onset) > TEMPO_LONG_FRAMES:
        # librosa's tempo estimate builds an autocorrelation tempogram over the whole envelope: ~1.5 GB
        # for ten minutes. On a file over two minutes, estimate it on up to 8 windows of 30 s spread over
        # the file (the median), and let the beat tracker follow that tempo over the whole envelope
        # (memory linear in its length).
        count = min(8, len(onset) // TEMPO_WINDOW_FRAMES)
        starts = np.linspace(0, len(onset) - TEMPO_WINDOW_FRAMES, count).astype(int)
        estimates = [
            float(
                librosa.feature.tempo(
                    onset_envelope=onset[a : a + TEMPO_WINDOW_FRAMES], sr=TEMPO_RATE_HZ, hop_length=TEMPO_HOP
                )[0]
            )
            for a in starts
        ]
        bpm = float(np.median(estimates))
    _, beats = librosa.beat.beat_track(onset_envelope=onset, sr=TEMPO_RATE_HZ, hop_length=TEMPO_HOP, bpm=bpm)
    if len(beats) < 4:
        return None, 0.0
    times = librosa.frames_to_time(beats, sr=TEMPO_RATE_HZ, hop_length=TEMPO_HOP)
    period_s = float(np.polyfit(np.arange(len(times)), times, 1)[0])
    if period_s <= 0:
        return None, 0.0
    centred = onset - onset.mean()
    energy = float(np.dot(centred, centred)) or 1e-12
    lag = period_s * TEMPO_RATE_HZ / TEMPO_HOP
    lags = range(max(1, int(lag) - 1), min(len(centred) - 1, int(lag) + 2) + 1)
    confidence = max(float(np.dot(centred[:-k], centred[k:])) / energy for k in lags)
    confidence = round(min(max(confidence, 0.0), 1.0), 2)
    return (round(60.0 / period_s, 1) if confidence >= 0.3 else None), confidence


STREAM_ABOVE_BYTES = 64_000_000  # longer files (~3 min of 48 kHz stereo) are measured block by block
BLOCK_S = 10.0


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    info = ctx.probe(args.file)
    if info.frames * info.channels * 4 > STREAM_ABOVE_BYTES:
        facts = measure_streaming(args.file.path, ctx.progress)
        lufs = facts["integrated_lufs"]
        facts = {"duration_s": round(info.duration_s, 3), "format": info.format, **facts}
        rate = info.sample_rate_hz
    else:
        audio, rate = ctx.load_audio(args.file, mono=False)
        mono = audio.mean(axis=1)
        ctx.progress(0.2, "loudness")
        lufs = integrated_lufs(audio if audio.shape[1] > 1 else audio[:, 0], rate)
        peak = float(np.max(np.abs(audio)))
        facts = {
            "duration_s": round(info.duration_s, 3),
            "sample_rate_hz": rate,
            "channels": info.channels,
            "format": info.format,
            "integrated_lufs": None if lufs is None else round(lufs, 2),
            "true_peak_dbtp": round(true_peak_dbtp(audio), 2),
            "sample_peak_dbfs": round(20 * np.log10(max(peak, 1e-10)), 2),
            "silence_share": round(silence_share(mono, rate), 3),
        }
        ctx.progress(0.5, "tempo")
        facts["tempo_bpm"], facts["tempo_confidence"] = tempo_bpm(mono, rate)
    report = ctx.new_file_artifact(
        json.dumps(facts, indent=1), f"{stem_of(args.file)}-measurements", ".json", "json", parents=[args.file]
    )
    loud = f"{facts['integrated_lufs']:.1f} LUFS integrated" if lufs is not None else "too short for a LUFS reading"
    tempo = f"about {facts['tempo_bpm']:.0f} BPM" if facts["tempo_bpm"] else "no steady beat"
    summary = (
        f"{args.file.name}: {info.duration_s:.1f} s, {rate} Hz, {info.channels} channel"
        f"{'s' if info.channels > 1 else ''}; {loud}, true peak {facts['true_peak_dbtp']:.1f} dBTP; "
        f"{facts['silence_share']:.0%} silence; {tempo}."
    )
    return ToolResult(summary, [report], facts)
