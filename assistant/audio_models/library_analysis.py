"""The per-file analysis of the sample library: the tools' own analysers, run on one file.

    tag         tempo, key, loudness, content shares, instrument-family guesses (signal processing)
    detect      flat-top clipping (signal processing); speech/music shares come from tag's frame labels
                (the Silero voice-activity model, learned)
    transcribe  Whisper tiny.en (learned), only on files with speech; a clip in the short window
    descriptors the "sounds like" vector (library/descriptors.py; signal processing)

`FileAnalyser` is what a worker holds: built once per process (pool worker or Ray actor), it loads
Whisper on the first file with speech and keeps it. It is called with a path and returns an
`Analysis`; an unreadable file gives an error Analysis, never an exception, so a scan never stops.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..config import AudioLimits, PathOptions
from ..errors import EarshotError
from ..library.index import Analysis

# Instrument-family guesses of tag → the library's tags (what `find` queries by).
FAMILY_TAGS = {
    "drums/percussion": "drums",
    "bass": "bass",
    "singing voice": "singing",
    "speaking voice": "voice",
    "plucked/struck (piano, guitar, mallets)": "plucked",
    "sustained (strings, organ, pads, winds)": "sustained",
    "bright timbre": "bright",
    "warm/dark timbre": "warm",
}
SPEECH_MIN_SHARE = 0.25  # of the sounding part: the file "has speech"
MUSIC_MIN_SHARE = 0.5  # … "has music" (tonal or beat frames: the larger part of the sound)
SPEECH_MIN_S = 0.5
SILENT_MAX_PEAK_DBTP = -40.0  # a "silent" file peaks below this
LIBROSA_NOTES = (r"n_fft=\d+ is too large", r"Trying to estimate tuning from empty frequency set")
# The index keeps a key only when the chroma's correlation with the best key profile is this high: tonal
# music scores 0.8-0.97, noise and drums 0.3-0.6 (tag reports any key above 0.3, with its correlation).
KEY_MIN_CORRELATION = 0.7


@dataclass(frozen=True)
class AnalyserOptions:
    """How each file is analysed (picklable: it travels to pool workers and Ray actors)."""

    paths: PathOptions
    asr_model: str = "whisper-tiny.en"
    transcribe: bool = True  # Whisper on files with speech
    # Beam search in the short window (runtime/asr.py `transcribe_short`) on clips up to `short_max_s`: on
    # the bench library's 440 espeak-ng clips, tiny.en found 68–100 % of six known words (greedy in the
    # 30 s window: 56–99 %) in 43 ms a clip instead of 260 ms. Beam 5 in the 30 s window gained ~2 points.
    beam_size: int = 5
    short_max_s: float = 20.0
    limits: AudioLimits = field(default_factory=AudioLimits)
    threads_per_worker: int = 1  # numpy/BLAS/Whisper threads in each worker (workers × this ≤ cores)


def limit_threads(n: int) -> None:
    """Keep a worker to n threads (BLAS, OpenMP), so N workers use N cores and no more."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn (librosa)
        pass


class FileAnalyser:
    """Analyses one file at a time; models load once, on first need."""

    def __init__(self, options: AnalyserOptions) -> None:
        self.options = options
        self._asr = None

    def _recognizer(self):
        if self._asr is None:
            from ..runtime.asr import SpeechRecognizer
            from ..runtime.models import ModelStore

            store = ModelStore(self.options.paths)
            self._asr = SpeechRecognizer(
                store, self.options.asr_model, cpu_threads=self.options.threads_per_worker, device="cpu"
            )
        return self._asr

    def _transcript(self, audio_16k: np.ndarray) -> str:
        asr, beam = self._recognizer(), self.options.beam_size
        if len(audio_16k) <= self.options.short_max_s * 16_000:
            return asr.transcribe_short(audio_16k, beam_size=beam).text
        return asr.transcribe(audio_16k, language="en", beam_size=beam).text

    def __call__(self, path: str) -> Analysis:
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                # librosa's notes on degenerate input — "n_fft=2048 is too large for input signal of
                # length=239" (a click), "Trying to estimate tuning from empty frequency set" (a silent
                # file): the figures stand, and the lines would break the progress bar.
                for message in LIBROSA_NOTES:
                    warnings.filterwarnings("ignore", message=message, category=UserWarning)
                analysis = self._analyse(path)
        except EarshotError as exc:
            analysis = Analysis(status="error", error=str(exc))
        except Exception as exc:  # a decoder or analyser crash on one file must not stop the scan
            analysis = Analysis(status="error", error=f"analysis failed: {type(exc).__name__}: {exc}")
        analysis.analysis_s = round(time.perf_counter() - started, 4)
        return analysis

    def _analyse(self, path: str) -> Analysis:
        from ..audio.files import load_audio, resample
        from ..library.descriptors import descriptor_vector
        from .detect import clipping_events
        from .tag import tag_audio

        audio, rate = load_audio(path, mono=False, limits=self.options.limits)
        mono = audio.mean(axis=1)
        facts = tag_audio(audio if audio.shape[1] > 1 else mono, rate)
        shares = facts["shares"]
        sound = max(1e-9, 1.0 - shares["silence"])
        duration = facts["duration_s"]
        speech_share = shares["speech"] / sound
        music_share = (shares["music"] + shares["singing"]) / sound
        content = facts["content"]
        if content == "silence" and facts["true_peak_dbtp"] > SILENT_MAX_PEAK_DBTP:
            content = "ambience"  # a blip too short for detect's frames (a hi-hat), not a silent file
        silent = content == "silence"
        has_speech = not silent and speech_share >= SPEECH_MIN_SHARE and shares["speech"] * duration >= SPEECH_MIN_S
        has_music = not silent and music_share >= MUSIC_MIN_SHARE
        clips = clipping_events(audio, rate)
        tags = [FAMILY_TAGS.get(g, g) for g in facts["instruments_guess"]]
        tags.append(content)
        if clips:
            tags.append("clipping")
        transcript = ""
        if has_speech and self.options.transcribe:
            transcript = self._transcript(resample(mono, rate, 16_000))
        return Analysis(
            duration_s=duration,
            sample_rate_hz=int(rate),
            channels=int(audio.shape[1]),
            key=facts["key"] if facts["key_correlation"] >= KEY_MIN_CORRELATION else None,
            tempo_bpm=facts["tempo_bpm"] if has_music else None,  # a tremolo's pulse is not a tempo
            integrated_lufs=facts["integrated_lufs"],
            true_peak_dbtp=facts["true_peak_dbtp"],
            content=content,
            speech_share=round(float(speech_share), 3),
            music_share=round(float(music_share), 3),
            silence_share=round(float(shares["silence"]), 3),
            has_speech=bool(has_speech),
            has_music=bool(has_music),
            has_clipping=bool(clips),
            clipped_s=round(float(sum(e.duration_s for e in clips)), 3),
            tags=tags,
            transcript=transcript,
            vector=descriptor_vector(mono, rate).astype(np.float32),
        )


def analyser_factory(config, transcribe: bool | None = None):
    """The picklable factory a worker builds its analyser with, from the configuration."""
    import functools

    options = AnalyserOptions(
        paths=config.paths,
        asr_model=config.models.asr,
        transcribe=config.library.transcribe if transcribe is None else transcribe,
        limits=config.limits,
    )
    return functools.partial(make_analyser, options)


def make_analyser(options: AnalyserOptions) -> FileAnalyser:
    """A worker's analyser (module-level, so pool workers and Ray actors import it by name)."""
    limit_threads(options.threads_per_worker)
    return FileAnalyser(options)
