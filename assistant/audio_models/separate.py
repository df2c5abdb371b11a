"""separate: split a file into stems — vocals/accompaniment, drums/harmonic (HPSS), or the speakers
of a multichannel recording (AuxIVA). All three are signal processing; no separation model can be
had offline (demucs, open-unmix and the like download their weights at run time).

    vocals / accompaniment   REPET-SIM (Rafii & Pardo 2012): what repeats is accompaniment, what
                             does not is the voice; on a real stereo mix the centre channel is
                             isolated first (vocals are almost always panned centre).
    drums / harmonic         median-filtering HPSS (Fitzgerald 2010; Driedger et al. 2014 masks),
                             librosa.decompose.hpss: the stems sum back to the input.
    speakers                 AuxIVA (Ono 2011), pyroomacoustics: independent sources of a recording
                             with at least as many microphones as sources (OverIVA when fewer).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ..errors import EarshotError
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

Stem = Literal["vocals", "accompaniment", "drums", "harmonic", "speakers"]

N_FFT = 2048  # at 22.05–48 kHz: 43–93 ms windows, the usual HPSS/REPET resolution
HOP = 512
HPSS_KERNEL = 31  # median filter length in frames (time) and bins (frequency)
REPET_WINDOW_S = 2.0  # REPET-SIM ignores neighbours closer than this (they are the same note)
VOCAL_LOW_HZ = 100.0  # below this everything is accompaniment (bass, kick): no voice lives there
CENTRE_SIMILARITY_POWER = 4  # sharpness of the centre-channel mask (Avendano & Jot similarity)
IVA_ITERATIONS = 60
CHUNK_S = 60.0  # REPET-SIM's similarity matrix grows with length squared: work in chunks


@dataclass
class Args:
    file: Artifact
    stem: Stem = field(
        default="vocals",
        metadata={
            "doc": "the stem wanted (made first; its complement is made too): vocals, accompaniment (karaoke), "
            "drums, harmonic (no drums), or speakers (one file per voice; needs 2+ channels)"
        },
    )
    sources: int = field(
        default=0, metadata={"min": 0, "max": 8, "doc": "speakers: how many voices (0 = as many as channels)"}
    )


SPEC = ToolSpec(
    name="separate",
    doing="separating {file}",
    summary="split into stems: vocals/accompaniment, drums/harmonic, or speakers of a multichannel recording",
    examples=(
        "separate the vocals from song.wav",
        "make a karaoke version of song.wav",
        "split the drums from the rest",
        "separate the two speakers in meeting.wav",
    ),
    method="signal processing: REPET-SIM + centre-channel extraction (vocals), median-filter HPSS (drums), "
    "AuxIVA blind source separation (speakers)",
    learned=False,
    licence="ISC (librosa) / MIT (pyroomacoustics)",
    timeout_s=900,
    max_memory_mb=4096,
)


# -- STFT helpers ----------------------------------------------------------------------------
def _stft(x: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.stft(x, n_fft=N_FFT, hop_length=HOP)


def _istft(spec: np.ndarray, length: int) -> np.ndarray:
    import librosa

    return librosa.istft(spec, hop_length=HOP, n_fft=N_FFT, length=length).astype(np.float32)


# -- harmonic / percussive ---------------------------------------------------------------------
def hpss(audio: np.ndarray, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """(harmonic, percussive) of a (frames, channels) signal; soft Wiener masks, so they sum to the input."""
    import librosa

    harmonic = np.zeros_like(audio)
    percussive = np.zeros_like(audio)
    channels = audio.shape[1]
    for ch in range(channels):
        spec = _stft(audio[:, ch])
        mask_h, mask_p = librosa.decompose.hpss(np.abs(spec), kernel_size=HPSS_KERNEL, power=2.0, mask=True)
        harmonic[:, ch] = _istft(spec * mask_h, len(audio))
        percussive[:, ch] = _istft(spec * mask_p, len(audio))
        if progress:
            progress((ch + 1) / channels)
    return harmonic, percussive


# -- vocals / accompaniment ----------------------------------------------------------------------
def repet_sim_mask(mag: np.ndarray, rate: int) -> np.ndarray:
    """REPET-SIM soft mask of the non-repeating (vocal) part of a magnitude spectrogram.

    Each frame's repeating part is the median of its most similar frames (cosine similarity, at
    least REPET_WINDOW_S away); the voice is what exceeds it. Margins as in librosa's example."""
    import librosa

    width = max(1, int(librosa.time_to_frames(REPET_WINDOW_S, sr=rate, hop_length=HOP)))
    if mag.shape[1] <= 2 * width + 2:
        # Too short to find repetitions: fall back on a long horizontal median (sustained = accompaniment).
        repeating = librosa.decompose.hpss(mag, kernel_size=(HPSS_KERNEL, 1), mask=False)[0]
    else:
        # Frames are compared on a 64-band log-mel summary (16x fewer dimensions than the spectrum:
        # the neighbour search is the costly part), then the full-resolution frames are aggregated.
        mel = librosa.feature.melspectrogram(S=mag**2, sr=rate, n_mels=64)
        rec = librosa.segment.recurrence_matrix(
            librosa.power_to_db(mel, ref=np.max), mode="affinity", metric="cosine", width=width, sparse=True
        )
        repeating = librosa.decompose.nn_filter(mag, rec=rec, aggregate=np.median)
    repeating = np.minimum(mag, repeating)
    return librosa.util.softmask(mag - repeating, 10.0 * repeating, power=2)


def _repet_sim(x: np.ndarray, rate: int, progress=None) -> np.ndarray:
    """The vocal estimate of one channel, REPET-SIM in chunks (bounded memory and time)."""
    chunk = int(CHUNK_S * rate)
    out = np.zeros_like(x)
    starts = list(range(0, len(x), chunk))
    for i, start in enumerate(starts):
        piece = x[start : start + chunk]
        if len(starts) > 1 and len(piece) < chunk // 4 and start > 0:
            # A short tail has too little to compare with: take it with the previous chunk's context.
            start = max(0, len(x) - chunk)
            piece = x[start:]
        spec = _stft(piece)
        mask = repet_sim_mask(np.abs(spec), rate)
        freqs = np.fft.rfftfreq(N_FFT, 1.0 / rate)
        mask[freqs < VOCAL_LOW_HZ] = 0.0
        out[start : start + len(piece)] = _istft(spec * mask, len(piece))
        if progress:
            progress((i + 1) / len(starts))
    return out


def is_real_stereo(audio: np.ndarray) -> bool:
    """True when the two channels differ enough for centre extraction to mean anything."""
    if audio.shape[1] != 2:
        return False
    left, right = audio[:, 0].astype(np.float64), audio[:, 1].astype(np.float64)
    side = np.sum((left - right) ** 2)
    mid = np.sum((left + right) ** 2)
    return bool(mid > 0 and side / mid > 1e-3)  # side more than 30 dB below mid: effectively mono


def centre_channel(audio: np.ndarray) -> np.ndarray:
    """The centre-panned part of a stereo mix (Avendano & Jot 2002 inter-channel similarity mask)."""
    left, right = _stft(audio[:, 0]), _stft(audio[:, 1])
    cross = np.abs(left * np.conj(right))
    similarity = 2.0 * cross / (np.abs(left) ** 2 + np.abs(right) ** 2 + 1e-12)
    mask = similarity**CENTRE_SIMILARITY_POWER
    return _istft(0.5 * (left + right) * mask, len(audio))


def vocals_accompaniment(audio: np.ndarray, rate: int, progress=None) -> tuple[np.ndarray, np.ndarray, str]:
    """(vocals, accompaniment, method) of a (frames, channels) signal; the stems sum to the input."""
    report = progress or (lambda f: None)
    if is_real_stereo(audio):
        centre = centre_channel(audio)
        report(0.3)
        vocal = _repet_sim(centre, rate, lambda f: report(0.3 + 0.7 * f))
        vocals = np.stack([vocal, vocal], axis=1)
        method = "centre-channel extraction + REPET-SIM"
    else:
        vocals = np.zeros_like(audio)
        for ch in range(audio.shape[1]):
            vocals[:, ch] = _repet_sim(audio[:, ch], rate, lambda f, ch=ch: report((ch + f) / audio.shape[1]))
        method = "REPET-SIM"
    return vocals, audio - vocals, method


# -- speakers (multichannel) -----------------------------------------------------------------------
def _iva_fft_size(rate: int) -> int:
    """~128 ms frames: long enough to cover room reverberation, the usual choice for AuxIVA."""
    return int(2 ** np.round(np.log2(0.128 * rate)))


def auxiva(audio: np.ndarray, rate: int, sources: int, progress=None) -> np.ndarray:
    """(frames, sources) separated by AuxIVA (OverIVA when there are more channels than sources),
    each scaled to how it sounds at the first microphone (projection back)."""
    import pyroomacoustics as pra

    n_fft = _iva_fft_size(rate)
    hop = n_fft // 4
    win_a = pra.hann(n_fft)
    win_s = pra.transform.stft.compute_synthesis_window(win_a, hop)
    spec = pra.transform.stft.analysis(audio.astype(np.float64), n_fft, hop, win=win_a)  # (frames, freqs, ch)
    calls = [0]

    def callback(_y):  # pyroomacoustics calls this every 10 iterations: progress and cancellation
        calls[0] += 1
        if progress:
            progress(min(1.0, calls[0] * 10 / IVA_ITERATIONS))

    if sources < audio.shape[1]:
        out = pra.bss.overiva(spec, n_src=sources, n_iter=IVA_ITERATIONS, proj_back=True, callback=callback)
    else:
        out = pra.bss.auxiva(spec, n_iter=IVA_ITERATIONS, proj_back=True, callback=callback)
    y = pra.transform.stft.synthesis(out, n_fft, hop, win=win_s)
    # The synthesis output lags the input by n_fft - hop samples; drop them so stems line up.
    y = y[n_fft - hop :]
    if len(y) < len(audio):
        y = np.concatenate([y, np.zeros((len(audio) - len(y), y.shape[1]))])
    return y[: len(audio)].astype(np.float32)


# -- the tool -------------------------------------------------------------------------------------
def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    audio, rate = ctx.load_audio(args.file, mono=False)
    name, stem = args.file.name, stem_of(args.file)
    report = lambda f: ctx.progress(0.9 * f, "separating")  # noqa: E731

    if args.stem == "speakers":
        channels = audio.shape[1]
        if channels < 2:
            raise EarshotError(
                f"{name} is mono; telling speakers apart needs a recording with at least two microphones (channels)",
                "use a multichannel recording, or `detect` to find when someone speaks",
            )
        sources = args.sources or channels
        if sources > channels:
            raise EarshotError(
                f"{name} has {channels} channels, too few to separate {sources} speakers",
                f"ask for at most {channels} speakers",
            )
        separated = auxiva(audio, rate, sources, report)
        method = "AuxIVA" if sources == channels else "OverIVA"
        arts = [
            ctx.new_audio_artifact(
                separated[:, k],
                rate,
                f"{stem}-speaker{k + 1}",
                parents=[args.file],
                meta={"stem": f"speaker{k + 1}", "method": method},
            )
            for k in range(sources)
        ]
        ctx.progress(1.0, "done")
        summary = (
            f"Separated {name} into {sources} sources with {method} (blind source separation, signal "
            f"processing) → {', '.join(a.name for a in arts)}; the order of the speakers is arbitrary."
        )
        return ToolResult(summary, arts, {"method": method, "stems": [a.name for a in arts]})

    if args.stem in ("drums", "harmonic"):
        harmonic, percussive = hpss(audio, report)
        method = "harmonic/percussive separation (median-filter HPSS)"
        pair = [("drums", percussive), ("harmonic", harmonic)]
    else:
        vocals, accompaniment, method = vocals_accompaniment(audio, rate, report)
        pair = [("vocals", vocals), ("accompaniment", accompaniment)]
    if pair[0][0] != args.stem:
        pair.reverse()  # the wanted stem first: "$1" in a plan means it
    arts = []
    for label, signal in pair:
        out = signal if signal.shape[1] > 1 else signal[:, 0]
        arts.append(
            ctx.new_audio_artifact(
                out, rate, f"{stem}-{label}", parents=[args.file], meta={"stem": label, "method": method}
            )
        )
    ctx.progress(1.0, "done")
    summary = (
        f"Separated {name} with {method} (signal processing, not a learned model): {pair[0][0]} → "
        f"{arts[0].name}, {pair[1][0]} → {arts[1].name}."
    )
    return ToolResult(summary, arts, {"method": method, "stems": {label: a.name for (label, _), a in zip(pair, arts)}})
