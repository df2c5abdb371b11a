"""detect: sound events with start and end times — speech, singing, music, noise, silence, percussive
hits and clipping.

No learned sound-event model can be had offline (PANNs, YAMNet and CLAP download their weights), so
this is signal processing plus one small learned part, the Silero voice-activity detector that ships
inside faster-whisper:

    silence   frame level (RMS) below an absolute floor, far below the file's loud parts, or near a
              steady background (room tone) that lies far below them
    speech    Silero VAD (learned) says voice, and the pitch does not hold still
    singing   voice with held, stable pitch (pitch salience from a long-kernel harmonic/percussive split)
    music     tonal sound that is not a voice (sustained harmonic energy), or a steady beat
    noise     sound that is neither: flat spectrum, no pitch
    hits      percussive onsets (spectral flux of the percussive part, backtracked to the attack)
    clipping  runs of identical samples at the file's peak level (flat tops)

Sound/silence boundaries come from the 10 ms level track, so an event starts where its sound
starts; the class of each stretch of sound is the majority of its frame labels.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec, require_audio, stem_of

RATE_HZ = 16_000  # Silero's rate; plenty for event classes
HOP = 160  # 10 ms frames
N_FFT = 512  # 32 ms windows
FRAME_S = HOP / RATE_HZ

SILENCE_FLOOR_DBFS = -55.0  # quieter than this is always silence
SILENCE_BELOW_LOUD_DB = 45  # … and so is anything this far below the file's loud frames (95th percentile)
BACKGROUND_GAP_DB = 25  # when the quietest tenth of the file is this far below the loud frames …
BACKGROUND_MARGIN_DB = 6  # … up to this much above it is background (silence)
MIN_SILENCE_S = 0.25  # shorter gaps belong to the sound around them (pauses between words)
MIN_SOUND_S = 0.06  # shorter blips are merged into the silence around them
VOICE_PROB = 0.5  # Silero speech probability that starts voice …
VOICE_OFF_PROB = 0.35  # … and below which it ends
VOICE_GAP_S = 0.25  # shorter gaps inside voice are closed
TONAL_SHARE = 0.6  # harmonic share of a frame's energy (long-kernel HPSS) that counts as tonal
NOISE_FLATNESS = 0.25  # spectral flatness at or above which a sound is noise even if "tonal"
HELD_S = 0.15  # a pitch is held when it stays within HELD_CENTS for this long …
HELD_CENTS = 60.0
SINGING_HELD_SHARE = 0.3  # … and a voice sings where this share of its pitched frames hold pitch …
SINGING_VOICE_SHARE = 0.25  # … with voice in at least this share of …
SINGING_WINDOW_S = 1.5  # … a window this long
MIN_RUN_S = 0.2  # label runs shorter than this join their neighbour
HIT_DELTA = 0.2  # onset peak-picking threshold (onset strength is normalised to 0..1)
HIT_RISE_DB = 9.0  # the level must jump this much within 60 ms for a hit …
HIT_DECAY_DB = 15.0  # … and its percussive energy fall this much …
HIT_MAX_S = 0.5  # … within this long, while the overall level drops HIT_LEVEL_DROP_DB
HIT_LEVEL_DROP_DB = 6.0  # within HIT_FALL_S (drums decay fast; a held note does not)
HIT_FALL_S = 0.2
CLIP_RUN = 3  # identical samples in a row at the peak level that count as a flat top
CLIP_MERGE_S = 0.05  # clipped spots closer than this are one event

Find = Literal["all", "speech", "singing", "music", "noise", "silence", "hits", "clipping"]
LABELS = ("speech", "singing", "music", "noise")


@dataclass
class Args:
    file: Artifact
    find: Find = field(default="all", metadata={"doc": "only events of this kind (all = every kind)"})


SPEC = ToolSpec(
    name="detect",
    doing="listening through {file}",
    summary="find sound events with start/end times: speech, singing, music, noise, silence, drum hits, clipping",
    examples=(
        "when does someone speak in interview.wav?",
        "find the silences in podcast.flac",
        "is there any clipping in take2.wav?",
        "list the sound events in @a1",
    ),
    method="signal processing (level, spectral flatness, HPSS pitch salience, onsets, flat-top clipping) "
    "with the Silero voice-activity detector (learned, ONNX, from faster-whisper)",
    learned=False,
    licence="MIT (Silero VAD, faster-whisper) / ISC (librosa)",
    timeout_s=600,
    max_memory_mb=3072,
)


@dataclass(frozen=True)
class Event:
    label: str
    start_s: float
    end_s: float
    confidence: float = 1.0  # speech/singing: share of voiced frames; hits: onset strength (0..1)

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass
class FrameAnalysis:
    """Per-10-ms features of a file, shared with `tag`, `caption` and `extract`."""

    level_db: np.ndarray
    voice_prob: np.ndarray
    tonal_share: np.ndarray
    flatness: np.ndarray
    sound: np.ndarray  # bool: not silence
    labels: np.ndarray  # index into LABELS per frame (meaningful where sound)
    duration_s: float
    extra: dict = field(default_factory=dict)

    def share(self, label: str) -> float:
        """Fraction of the file's duration whose frames carry this label ("silence" included)."""
        if label == "silence":
            return float(np.mean(~self.sound)) if self.sound.size else 1.0
        idx = LABELS.index(label)
        return float(np.mean(self.sound & (self.labels == idx))) if self.sound.size else 0.0


# -- the learned part: Silero VAD from faster-whisper ----------------------------------------------
def voice_probability(audio_16k: np.ndarray, n_frames: int) -> np.ndarray:
    """Silero's speech probability per 32 ms chunk, spread onto the 10 ms frame grid."""
    from faster_whisper.vad import get_vad_model

    chunk = 512
    padded = np.pad(audio_16k, (0, (-len(audio_16k)) % chunk)).astype(np.float32)
    if not padded.size:
        return np.zeros(n_frames, np.float32)
    probs = np.asarray(get_vad_model()(padded), dtype=np.float32).reshape(-1)
    times = (np.arange(len(probs)) + 0.5) * chunk / RATE_HZ
    frame_times = np.arange(n_frames) * FRAME_S
    return np.interp(frame_times, times, probs).astype(np.float32)


# -- frame features -------------------------------------------------------------------------------
def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[(start, end)) index runs where mask is True."""
    if not mask.size:
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def _fill_short(mask: np.ndarray, value: bool, min_frames: int) -> np.ndarray:
    """Runs of `value` shorter than min_frames become the opposite (not at the file edges for silence)."""
    out = mask.copy()
    for a, b in _runs(mask == value):
        if b - a < min_frames and (value is True or (a > 0 and b < len(mask))):
            out[a:b] = not value
    return out


def held_pitch(audio_16k: np.ndarray, n_frames: int) -> np.ndarray:
    """Per frame: does the pitch hold still (within HELD_CENTS over HELD_S)? Sung notes do, speech glides.
    YIN (librosa) is ~50x faster than pYIN and enough here: only voiced frames are asked."""
    import librosa
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    f0 = librosa.yin(audio_16k, fmin=70, fmax=1000, sr=RATE_HZ, frame_length=1024, hop_length=HOP)
    f0 = np.pad(f0, (0, max(0, n_frames - len(f0))), mode="edge")[:n_frames]
    cents = 1200 * np.log2(np.maximum(f0, 1.0) / 55.0)
    size = max(3, int(HELD_S / FRAME_S))
    spread = maximum_filter1d(cents, size) - minimum_filter1d(cents, size)
    return spread <= HELD_CENTS


def voice_mask(prob: np.ndarray) -> np.ndarray:
    """Voice frames with hysteresis (on at VOICE_PROB, off below VOICE_OFF_PROB, as Silero's own
    segmenter does) and gaps shorter than VOICE_GAP_S closed (pauses inside a phrase)."""
    on = prob >= VOICE_PROB
    mask = np.zeros_like(on)
    active = False
    for i, p in enumerate(prob):
        active = p >= VOICE_PROB or (active and p >= VOICE_OFF_PROB)
        mask[i] = active
    return ~_fill_short(~mask, True, int(VOICE_GAP_S / FRAME_S)) if on.any() else mask


def analyse(audio_16k: np.ndarray, progress=None) -> FrameAnalysis:
    """Frame features and labels of a mono 16 kHz signal."""
    import librosa
    from scipy.ndimage import uniform_filter1d

    report = progress or (lambda f: None)
    spec = librosa.stft(audio_16k, n_fft=N_FFT, hop_length=HOP)
    power = np.abs(spec) ** 2
    n = power.shape[1]
    level = librosa.power_to_db(np.mean(power, axis=0) * 2 / np.sum(np.hanning(N_FFT) ** 2), ref=1.0, top_db=None)
    level = np.maximum(level, -120.0)
    report(0.15)
    # Tonal share: the part of a frame's energy that a 300 ms horizontal median keeps (held notes).
    # Computed on every other frame (20 ms hop): the median filters are the costly part.
    harm, perc = librosa.decompose.hpss(power[:, ::2], kernel_size=(15, 31), mask=True)
    harm, perc = np.repeat(harm, 2, axis=1)[:, :n], np.repeat(perc, 2, axis=1)[:, :n]
    energy = np.sum(power, axis=0) + 1e-12
    tonal = np.sum(harm * power, axis=0) / energy
    flat = librosa.feature.spectral_flatness(S=np.sqrt(power), power=2.0)[0]
    report(0.4)
    voice = voice_probability(audio_16k, n)
    held = held_pitch(audio_16k, n) if np.any(voice >= VOICE_PROB) else np.zeros(n, bool)
    report(0.7)

    loud = float(np.percentile(level, 95)) if n else -120.0
    floor = float(np.percentile(level, 10)) if n else -120.0
    threshold = max(SILENCE_FLOOR_DBFS, loud - SILENCE_BELOW_LOUD_DB)
    if loud - floor >= BACKGROUND_GAP_DB:
        # A steady room tone or hiss far below the content is background: silence, not "noise".
        threshold = max(threshold, floor + BACKGROUND_MARGIN_DB)
    sound = level > threshold
    sound = _fill_short(sound, False, int(MIN_SILENCE_S / FRAME_S))
    sound = _fill_short(sound, True, int(MIN_SOUND_S / FRAME_S))

    labels = np.full(n, LABELS.index("noise"), np.int8)
    labels[(tonal >= TONAL_SHARE) & (flat < NOISE_FLATNESS)] = LABELS.index("music")
    is_voice = voice_mask(voice)
    labels[is_voice] = LABELS.index("speech")
    # Singing: where voice is present and the pitch holds still, over a one-second window. Sung
    # vowels are long and steady (and Silero often scores them low, so tonal frames count too).
    win = max(1, int(SINGING_WINDOW_S / FRAME_S))
    voice_share = uniform_filter1d(is_voice.astype(float), win, mode="nearest")
    pitched = is_voice | (labels == LABELS.index("music"))
    held_share = uniform_filter1d((held & pitched).astype(float), win, mode="nearest") / np.maximum(
        uniform_filter1d(pitched.astype(float), win, mode="nearest"), 1e-9
    )
    singing = (voice_share >= SINGING_VOICE_SHARE) & (held_share >= SINGING_HELD_SHARE) & pitched
    labels[singing] = LABELS.index("singing")
    hits = percussive_onsets(perc * power, level, voice)
    analysis = FrameAnalysis(
        level,
        voice,
        tonal,
        flat,
        sound,
        labels,
        len(audio_16k) / RATE_HZ,
        {"hits": hits, "threshold_db": threshold, "held": held},
    )
    _label_stretches(analysis)
    report(1.0)
    return analysis


def _absorb_short_runs(lab: np.ndarray, min_frames: int) -> np.ndarray:
    """Runs shorter than min_frames take the label of their longer neighbour (repeat until stable)."""
    lab = lab.copy()
    for _ in range(10):
        runs = []
        start = 0
        for i in range(1, len(lab) + 1):
            if i == len(lab) or lab[i] != lab[start]:
                runs.append((start, i))
                start = i
        short = [(a, b) for a, b in runs if b - a < min_frames]
        if not short or len(runs) == 1:
            break
        a, b = min(short, key=lambda r: r[1] - r[0])
        k = runs.index((a, b))
        left = runs[k - 1] if k > 0 else None
        right = runs[k + 1] if k + 1 < len(runs) else None
        pick = max((r for r in (left, right) if r), key=lambda r: r[1] - r[0])
        lab[a:b] = lab[pick[0]]
    return lab


def _label_stretches(a: FrameAnalysis) -> None:
    """Inside each sound stretch: absorb short label runs, and call a noise run with a steady train
    of hits a drum part (music)."""
    min_run = max(1, int(MIN_RUN_S / FRAME_S))
    hit_frames = np.asarray([int(round(h[0] / FRAME_S)) for h in a.extra["hits"]], dtype=int)
    noise, music = LABELS.index("noise"), LABELS.index("music")
    for s, e in _runs(a.sound):
        lab = _absorb_short_runs(a.labels[s:e], min_run)
        for ns, ne in _runs(lab == noise):
            inside = hit_frames[(hit_frames >= s + ns) & (hit_frames < s + ne)]
            if len(inside) >= 4:
                gaps = np.diff(inside)
                if np.std(gaps) <= 0.15 * np.mean(gaps):
                    lab[ns:ne] = music
        a.labels[s:e] = lab


def percussive_onsets(
    perc_power: np.ndarray, level_db: np.ndarray, voice: np.ndarray
) -> list[tuple[float, float, float]]:
    """(start_s, end_s, strength 0..1) of percussive hits.

    A hit is a peak of spectral flux in the percussive part where the overall level jumps by at
    least HIT_RISE_DB, whose percussive energy then falls by HIT_DECAY_DB within HIT_MAX_S (a steady
    noise does not) and whose overall level falls back by HIT_LEVEL_DROP_DB (a held sound that
    starts abruptly does not) within HIT_FALL_S, away from voice (consonants are not drum hits)."""
    import librosa

    perc_db = librosa.power_to_db(perc_power, ref=np.max(perc_power) + 1e-12, top_db=80.0)
    env = librosa.onset.onset_strength(S=perc_db, sr=RATE_HZ, hop_length=HOP, lag=1, max_size=3, center=False)
    if env.max() <= 1e-9:
        return []
    env = env / env.max()
    peaks = librosa.onset.onset_detect(
        onset_envelope=env,
        sr=RATE_HZ,
        hop_length=HOP,
        backtrack=False,
        delta=HIT_DELTA,
        wait=int(0.05 / FRAME_S),
        units="frames",
    )
    perc_level = 10 * np.log10(np.sum(perc_power, axis=0) + 1e-12)
    n = len(level_db)
    back = int(0.06 / FRAME_S)
    hits = []
    for p in peaks:
        if p >= n or voice[max(0, p - 3) : p + int(0.2 / FRAME_S)].max() >= VOICE_PROB:
            continue  # at or just before voice: a consonant or the start of a word
        lo = max(0, p - back)
        top = int(np.argmax(level_db[p : min(n, p + 3)])) + p
        floor = float(level_db[lo : p + 1].min())
        if level_db[top] - floor < HIT_RISE_DB:
            continue
        limit = min(n, top + int(HIT_MAX_S / FRAME_S))
        after = perc_level[top:limit]
        fallen = np.flatnonzero(after < perc_level[top] - HIT_DECAY_DB)
        quick = level_db[top : min(n, top + int(HIT_FALL_S / FRAME_S))]
        if not fallen.size or quick.min() > level_db[top] - HIT_LEVEL_DROP_DB:
            continue  # the sound goes on: the abrupt start of a held sound, not a hit
        end = top + int(fallen[0])
        # The attack starts where the level first climbs 10 % of the way (in dB) from the floor to the top.
        rise = floor + 0.1 * (level_db[top] - floor)
        start = lo + int(np.argmax(level_db[lo : top + 1] > rise))
        hits.append((round(float(start * FRAME_S), 3), round(float(end * FRAME_S), 3), round(float(env[p]), 3)))
    return hits


def clipping_events(audio: np.ndarray, rate: int) -> list[Event]:
    """Flat tops: CLIP_RUN or more identical samples in a row at the file's peak level, per channel."""
    x = audio if audio.ndim == 2 else audio[:, None]
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak < 0.25:  # nothing near a ceiling; a quiet file does not clip
        return []
    spots: list[tuple[float, float]] = []
    for ch in range(x.shape[1]):
        c = x[:, ch]
        at_peak = np.abs(c) >= 0.995 * peak
        flat = np.concatenate([[False], np.abs(np.diff(c)) <= 1e-7]) & at_peak
        flat[:-1] |= flat[1:] & at_peak[:-1]  # the first sample of a flat run counts too
        for a, b in _runs(flat):
            if b - a >= CLIP_RUN:
                spots.append((a / rate, b / rate))
    spots.sort()
    merged: list[list[float]] = []
    for a, b in spots:
        if merged and a - merged[-1][1] <= CLIP_MERGE_S:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [Event("clipping", round(float(a), 3), round(float(b), 3)) for a, b in merged]


def events_from(a: FrameAnalysis) -> list[Event]:
    """Silence and labelled sound stretches, plus hits, as events in time order."""
    events: list[Event] = []
    for s, e in _runs(~a.sound):
        events.append(Event("silence", round(float(s * FRAME_S), 3), round(float(min(e * FRAME_S, a.duration_s)), 3)))
    hits = a.extra.get("hits", [])
    for s, e in _runs(a.sound):
        lab = a.labels[s:e]
        for k, name in enumerate(LABELS):
            for rs, re_ in _runs(lab == k):
                start, end = (
                    round(float((s + rs) * FRAME_S), 3),
                    round(float(min((s + re_) * FRAME_S, a.duration_s)), 3),
                )
                if name == "noise" and end - start < 0.3 and any(h0 < end and h1 > start for h0, h1, _ in hits):
                    continue  # a lone drum hit is reported as a hit, not also as a burst of noise
                voiced = a.voice_prob[s + rs : s + re_] >= VOICE_PROB
                confidence = float(np.mean(voiced)) if name in ("speech", "singing") else 1.0
                events.append(Event(name, start, end, round(confidence, 2)))
    for start, end, strength in hits:
        events.append(Event("hits", start, end, strength))
    return sorted(events, key=lambda ev: (ev.start_s, ev.label))


def detect_events(audio: np.ndarray, rate: int, progress=None) -> tuple[list[Event], FrameAnalysis]:
    """Every event of a (frames, channels) or mono signal at any rate."""
    from ..audio.files import resample

    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    analysis = analyse(resample(mono, rate, RATE_HZ), progress)
    events = events_from(analysis) + clipping_events(audio, rate)
    return sorted(events, key=lambda ev: (ev.start_s, ev.label)), analysis


def clock(seconds: float) -> str:
    m, s = divmod(max(seconds, 0.0), 60)
    return f"{int(m)}:{s:04.1f}"


def summarise(events: list[Event], name: str, find: str, limit: int = 6) -> str:
    if not events:
        what = "no events" if find == "all" else f"no {find}"
        return f"Found {what} in {name}."
    parts = []
    for label in ("speech", "singing", "music", "noise", "silence", "hits", "clipping"):
        evs = [e for e in events if e.label == label]
        if not evs:
            continue
        if label == "hits":
            parts.append(
                f"{len(evs)} percussive hit{'s' if len(evs) > 1 else ''} "
                f"({clock(evs[0].start_s)}–{clock(evs[-1].end_s)})"
            )
            continue
        spans = ", ".join(f"{clock(e.start_s)}–{clock(e.end_s)}" for e in evs[:limit])
        more = f" and {len(evs) - limit} more" if len(evs) > limit else ""
        parts.append(f"{label} {spans}{more}")
    return f"Found in {name}: " + "; ".join(parts) + "."


def run(args: Args, ctx: ToolContext) -> ToolResult:
    require_audio(args.file, SPEC.name)
    audio, rate = ctx.load_audio(args.file, mono=False)
    events, analysis = detect_events(audio, rate, lambda f: ctx.progress(0.9 * f, "analysing"))
    if args.find != "all":
        events = [e for e in events if e.label == args.find]
    payload = {
        "file": args.file.name,
        "duration_s": round(analysis.duration_s, 3),
        "find": args.find,
        "method": SPEC.method,
        "shares": {k: round(analysis.share(k), 3) for k in (*LABELS, "silence")},
        "events": [asdict(e) for e in events],
    }
    art = ctx.new_file_artifact(
        json.dumps(payload, indent=1),
        f"{stem_of(args.file)}-events",
        ".json",
        "json",
        parents=[args.file],
        meta={"find": args.find, "count": len(events)},
    )
    ctx.progress(1.0, "done")
    summary = summarise(events, args.file.name, args.find) + " (Signal processing with a voice-activity model.)"
    return ToolResult(summary, [art], {"events": payload["events"], "shares": payload["shares"]})
