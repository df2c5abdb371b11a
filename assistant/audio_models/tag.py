"""tag: musical and acoustic tags — tempo and beat grid, key and mode, loudness, instrument-family
guesses, and whether a clip is speech, music or ambience.

All signal processing (no tagging model can be had offline):
    tempo/beats   librosa's dynamic-programming beat tracker (Ellis 2007); the tempo is then refined
                  by a least-squares line through the beat times, finer than one analysis hop
    key/mode      Krumhansl–Schmuckler: the clip's chroma (CQT, harmonic part) correlated with the
                  24 rotated Krumhansl–Kessler key profiles
    loudness      ITU-R BS.1770 integrated loudness (pyloudnorm) and true peak
    content       the frame labels of `detect` (voice-activity model + spectral features)
    instruments   rules on spectral features: percussive share, low-frequency tonal share, note
                  decay after onsets, voice activity — guesses, and said to be guesses
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

RATE_HZ = 22_050
HOP = 256  # 11.6 ms: beat times at this resolution, tempo refined beyond it
MIN_BEAT_S = 4.0  # shorter clips get no tempo
KEY_MIN_TONAL_S = 2.0  # need this much tonal sound for a key
# The mode is told by the tonic's third. A bass line of roots plays none (only the 5th harmonic of its notes
# lands there): on the bench library's loops, the louder third over the tonic in the chroma was 0.06–0.15 for
# bass lines and 0.32–1.7 for piano, organ, strings and synth chords. Below this, the key is the tonic alone.
MODE_MIN_THIRD_RATIO = 0.25
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) probe-tone profiles, C major and C minor.
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass
class Args:
    file: Artifact


SPEC = ToolSpec(
    name="tag",
    doing="tagging {file}",
    summary="musical tags: tempo and beat grid, key and mode, loudness, instrument guesses, speech/music/ambience",
    examples=(
        "what key is song.wav in?",
        "tag this track",
        "find the BPM and key of @a2",
        "is take2.wav speech or music?",
    ),
    method="signal processing (librosa beat tracking, Krumhansl–Schmuckler key profiles on chroma, "
    "BS.1770 loudness via pyloudnorm, spectral-feature rules)",
    learned=False,
    licence="ISC (librosa) / MIT (pyloudnorm)",
    timeout_s=600,
    max_memory_mb=3072,
)


# -- tempo -----------------------------------------------------------------------------------------
def beat_grid(y: np.ndarray, rate: int = RATE_HZ) -> tuple[float | None, list[float], float]:
    """(tempo_bpm, beat times, confidence 0..1). The tempo is the slope of a line fitted through the
    beat times against their beat numbers, so skipped or doubled beats do not bias it."""
    import librosa

    if len(y) < MIN_BEAT_S * rate:
        return None, [], 0.0
    onset = librosa.onset.onset_strength(y=y, sr=rate, hop_length=HOP)
    if onset.max() <= 1e-6:
        return None, [], 0.0
    tempo0, beats = librosa.beat.beat_track(onset_envelope=onset, sr=rate, hop_length=HOP)
    tempo0 = float(np.atleast_1d(tempo0)[0])
    if len(beats) < 4 or tempo0 <= 0:
        return None, [], 0.0
    times = librosa.frames_to_time(beats, sr=rate, hop_length=HOP)
    period0 = 60.0 / tempo0
    numbers = np.concatenate([[0], np.cumsum(np.maximum(1, np.round(np.diff(times) / period0)))])
    slope, intercept = np.polyfit(numbers, times, 1)
    residual = times - (slope * numbers + intercept)
    regularity = float(max(0.0, 1.0 - np.std(residual) / (0.25 * slope)))
    salience = float(np.mean(onset[beats]) / (np.mean(onset) + 1e-9))
    confidence = regularity * min(1.0, max(0.0, salience - 1.0))
    return 60.0 / slope, [round(float(t), 3) for t in times], round(confidence, 2)


def downbeat_phase(y: np.ndarray, beats_s: list[float], rate: int = RATE_HZ, beats_per_bar: int = 4) -> int:
    """Which of the first `beats_per_bar` beats starts a bar: the phase with the most low-frequency
    onset energy (kick drums and bass notes mark the first beat of a bar more often than not)."""
    import librosa

    if len(beats_s) < 2 * beats_per_bar:
        return 0
    spec = np.abs(librosa.stft(y, n_fft=2048, hop_length=HOP))
    freqs = librosa.fft_frequencies(sr=rate, n_fft=2048)
    low = librosa.onset.onset_strength(S=librosa.amplitude_to_db(spec[freqs < 200]), sr=rate, hop_length=HOP)
    frames = np.clip(librosa.time_to_frames(beats_s, sr=rate, hop_length=HOP), 0, len(low) - 1)
    strength = [np.mean(low[frames[p::beats_per_bar]]) for p in range(beats_per_bar)]
    return int(np.argmax(strength))


# -- key -------------------------------------------------------------------------------------------
def key_profile_scores(chroma_mean: np.ndarray) -> list[tuple[float, str, str]]:
    """(correlation, tonic, mode) for all 24 keys, best first."""
    scores = []
    for tonic in range(12):
        for mode, profile in (("major", MAJOR_PROFILE), ("minor", MINOR_PROFILE)):
            r = float(np.corrcoef(chroma_mean, np.roll(profile, tonic))[0, 1])
            scores.append((r, NOTE_NAMES[tonic], mode))
    return sorted(scores, reverse=True)


def estimate_key(y_harmonic: np.ndarray, rate: int = RATE_HZ) -> tuple[str | None, str | None, float, list]:
    """(tonic, mode, correlation, top-3) from the energy-weighted mean CQT chroma; None when untonal."""
    import librosa

    chroma = librosa.feature.chroma_cqt(y=y_harmonic, sr=rate, hop_length=2048, bins_per_octave=36)
    rms = librosa.feature.rms(y=y_harmonic, frame_length=4096, hop_length=2048)[0]
    n = min(chroma.shape[1], len(rms))
    weights = rms[:n] ** 2
    if n == 0 or weights.sum() <= 1e-12:
        return None, None, 0.0, []
    mean = chroma[:, :n] @ weights / weights.sum()
    scores = key_profile_scores(mean)
    best = scores[0]
    top = [{"key": f"{t} {m}", "correlation": round(r, 3)} for r, t, m in scores[:3]]
    if best[0] < 0.3:  # nothing like a key (noise, speech, drums)
        return None, None, round(best[0], 3), top
    tonic = NOTE_NAMES.index(best[1])
    third = max(mean[(tonic + 3) % 12], mean[(tonic + 4) % 12])
    if third < MODE_MIN_THIRD_RATIO * max(float(mean[tonic]), 1e-12):
        return best[1], None, round(best[0], 3), top  # no third played: major or minor cannot be told
    return best[1], best[2], round(best[0], 3), top


# -- instrument families (guesses) -------------------------------------------------------------------
def instrument_guesses(
    y: np.ndarray,
    y_harm: np.ndarray,
    y_perc: np.ndarray,
    rate: int,
    voice_share: float,
    singing_share: float,
    steady_beat: bool,
) -> list[str]:
    import librosa

    guesses = []
    e_total = float(np.sum(y**2)) + 1e-12
    perc_share = float(np.sum(y_perc**2)) / e_total
    # Consonants are percussive too: in mostly-spoken audio only a steady beat means drums.
    if perc_share >= 0.15 and (steady_beat or voice_share < 0.3):
        guesses.append("drums/percussion")
    spec = np.abs(librosa.stft(y_harm, n_fft=4096, hop_length=1024)) ** 2
    freqs = librosa.fft_frequencies(sr=rate, n_fft=4096)
    harm_energy = spec.sum() + 1e-12
    low_share = float(spec[(freqs >= 30) & (freqs < 200)].sum() / harm_energy)
    if low_share >= 0.2 and float(np.sum(y_harm**2)) / e_total >= 0.2:
        guesses.append("bass")
    if singing_share >= 0.1:
        guesses.append("singing voice")
    elif voice_share >= 0.1:
        guesses.append("speaking voice")
    tonal_share = float(np.sum(y_harm**2)) / e_total
    if tonal_share >= 0.3:
        # How fast notes fade: level 250 ms after each harmonic onset relative to its peak.
        hop = 512
        rms = librosa.feature.rms(y=y_harm, frame_length=2048, hop_length=hop)[0]
        db = 20 * np.log10(rms + 1e-9)
        onsets = librosa.onset.onset_detect(y=y_harm, sr=rate, hop_length=hop, units="frames")
        lag = int(0.25 * rate / hop)
        drops = []
        for o in onsets:
            seg = db[o : o + lag + 1]
            if len(seg) > lag:
                drops.append(seg[:4].max() - seg[-1])
        if drops:
            drop = float(np.median(drops))
            guesses.append(
                "plucked/struck (piano, guitar, mallets)" if drop >= 4.0 else "sustained (strings, organ, pads, winds)"
            )
    centroid = float(np.median(librosa.feature.spectral_centroid(y=y, sr=rate)[0]))
    guesses.append("bright timbre" if centroid >= 2500 else "warm/dark timbre")
    return guesses


def _analysis_hpss(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic and percussive parts for analysis (key, shares): HPSS at a 46 ms hop with a 0.7 s
    time kernel — coarser than `separate` uses for listening, and ~4x cheaper."""
    import librosa

    # Zeros after the end: at a 50 % overlap the last samples lie under one window's near-zero tail,
    # and the inverse STFT of a masked spectrum divides by that tail — the parts ended in spikes 60–200×
    # the signal's peak, and organ, string and piano loops measured "86–1,100 % percussive" (drums).
    # Padded, every sample kept sits under two full windows; `length` crops the padding off again.
    spec = librosa.stft(np.pad(y, (0, 2048)), n_fft=2048, hop_length=1024)
    mask_h, mask_p = librosa.decompose.hpss(np.abs(spec), kernel_size=(15, 31), mask=True)
    return (
        librosa.istft(spec * mask_h, hop_length=1024, length=len(y)),
        librosa.istft(spec * mask_p, hop_length=1024, length=len(y)),
    )


# -- everything ----------------------------------------------------------------------------------------
def tag_audio(audio: np.ndarray, rate: int, progress=None) -> dict:
    """All tags of a (frames, channels) or mono signal at any rate, as a JSON-ready dict."""

    from ..audio.files import resample
    from .describe import integrated_lufs, true_peak_dbtp
    from .detect import RATE_HZ as DETECT_RATE
    from .detect import analyse

    report = progress or (lambda f: None)
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    y = resample(mono, rate, RATE_HZ)
    facts: dict = {"duration_s": round(len(mono) / rate, 3)}
    lufs = integrated_lufs(audio, rate)
    facts["integrated_lufs"] = None if lufs is None else round(lufs, 1)
    facts["true_peak_dbtp"] = round(true_peak_dbtp(audio), 1)
    report(0.1)
    frames = analyse(resample(mono, rate, DETECT_RATE))
    shares = {k: round(frames.share(k), 3) for k in ("speech", "singing", "music", "noise", "silence")}
    facts["shares"] = shares
    sound = max(1e-9, 1.0 - shares["silence"])
    voice = (shares["speech"]) / sound
    music = (shares["music"] + shares["singing"]) / sound
    ambience = shares["noise"] / sound
    if shares["silence"] >= 0.95:
        content = "silence"
    else:
        content = max((("speech", voice), ("music", music), ("ambience", ambience)), key=lambda kv: kv[1])[0]
    facts["content"] = content
    report(0.35)
    y_harm, y_perc = _analysis_hpss(y)
    tempo, beats, confidence = beat_grid(y)
    steady = tempo is not None and confidence >= 0.3 and content != "speech"
    facts["tempo_bpm"] = round(tempo, 1) if steady else None
    facts["tempo_confidence"] = confidence
    facts["beats_s"] = beats if steady else []
    facts["downbeat_index"] = downbeat_phase(y, beats) if steady else None
    report(0.6)
    tonal_s = (shares["music"] + shares["singing"]) * facts["duration_s"]
    if tonal_s >= KEY_MIN_TONAL_S:
        tonic, mode, corr, top = estimate_key(y_harm)
    else:
        tonic, mode, corr, top = None, None, 0.0, []
    facts["key"] = (f"{tonic} {mode}" if mode else tonic) if tonic else None  # "A": the tonic, no third heard
    facts["key_correlation"] = corr
    facts["key_candidates"] = top
    report(0.85)
    facts["instruments_guess"] = (
        instrument_guesses(y, y_harm, y_perc, RATE_HZ, voice * sound, shares["singing"], steady)
        if content != "silence"
        else []
    )
    report(1.0)
    return facts


def summarise(facts: dict, name: str) -> str:
    bits = [facts["content"]]
    if facts["tempo_bpm"]:
        bits.append(f"{facts['tempo_bpm']:.0f} BPM ({len(facts['beats_s'])} beats in the grid)")
    else:
        bits.append("no steady beat")
    if facts["key"]:
        mode_told = facts["key"].endswith(("major", "minor"))
        bits.append(f"key {facts['key']}" + ("" if mode_told else " (no third heard: major or minor cannot be told)"))
    if facts["integrated_lufs"] is not None:
        bits.append(f"{facts['integrated_lufs']:.1f} LUFS")
    text = f"{name}: " + ", ".join(bits) + "."
    if facts["instruments_guess"]:
        text += " Sounds like (a guess from spectral features): " + ", ".join(facts["instruments_guess"]) + "."
    return text


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    audio, rate = ctx.load_audio(args.file, mono=False)
    facts = tag_audio(audio if audio.shape[1] > 1 else audio[:, 0], rate, lambda f: ctx.progress(0.95 * f, "analysing"))
    art = ctx.new_file_artifact(
        json.dumps({"file": args.file.name, "method": SPEC.method, **facts}, indent=1),
        f"{stem_of(args.file)}-tags",
        ".json",
        "json",
        parents=[args.file],
    )
    ctx.progress(1.0, "done")
    return ToolResult(summarise(facts, args.file.name) + " (Signal processing, not a learned tagger.)", [art], facts)
