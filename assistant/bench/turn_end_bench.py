"""`earshot bench turn-end`: when does a turn end — the transcript rule against the Smart Turn model, offline.

Every request of the latency bench (bench/speech_set.py: hibari and espeak-ng voices) is played, frame
by frame, through the loop's real VAD (webrtcvad → silero) and segmenter, in two shapes:

- **complete**: the request, then silence. The turn should end soon after the last word;
- **hesitation**: the request broken off at a word boundary ("Remove the noise from"), a 600 ms pause
  (shorter than max_silence_ms, so a check that says "finished" ends the turn there), then the rest. A turn
  that ends before the rest begins has **cut the request off**.

At each pause the segmenter sees (its first silent frame), the bench runs what the voice loop would run:
Whisper's short-window pass (the transcript the rule `transcript_looks_complete` judges) and Smart Turn on
the audio so far (also on the audio at min_silence_ms, the other place it could run). Each answer is
available to the endpoint only after its own cost — its CPU time, as if it had a core to itself — so a
strategy ends a pause at max(min_silence_ms, the first frame after its answer) when its answer is
"finished", and otherwise the pause runs to max_silence_ms.

Reported per strategy: requests cut off, and the silence waited after a finished request (true end of
speech → endpoint, VAD lag included) — median, p90, and how many fell back to max_silence_ms; Smart Turn's
accuracy (finished vs broken off) and CPU ms per call, the rule's accuracy on the same pauses.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ..audio.segmenter import transcript_looks_complete
from .speech_set import DEFAULT_VOICES, RATE, Spoken, build_set, noise_floor, requests

FRAME = 512
FRAME_MS = FRAME * 1000 / RATE
LEAD_S = 0.4
TAIL_S = 1.2


@dataclass
class PauseRecord:
    start: int  # index of the pause's first silent frame
    frames: int = 0  # frames it lasted (until speech resumed, or the segmenter's own max_silence end)
    by_max: bool = False  # it ended at max_silence_ms
    audio_at_pause: np.ndarray | None = field(default=None, repr=False)
    audio_at_min: np.ndarray | None = field(default=None, repr=False)
    text: str = ""
    asr_ms: float = 0.0
    p_pause: float = 0.0
    model_ms: float = 0.0
    model_wall_ms: float = 0.0
    p_min: float | None = None
    model_min_ms: float = 0.0

    @property
    def start_s(self) -> float:
        return self.start * FRAME / RATE


@dataclass
class Clip:
    kind: str  # "complete" or "hesitation"
    spoken: Spoken
    prefix: str  # hesitation: the words before the pause
    true_end_s: float  # the last sample of speech
    resume_s: float | None  # hesitation: speech resumes here (ending before it cuts the request off)
    cut_s: float | None
    audio: np.ndarray | None = field(default=None, repr=False)
    pauses: list[PauseRecord] = field(default_factory=list)

    def final_pause(self) -> PauseRecord | None:
        return next((p for p in self.pauses if p.start_s >= self.true_end_s - 0.2), None)

    def hesitation_pause(self) -> PauseRecord | None:
        if self.cut_s is None:
            return None
        return next((p for p in self.pauses if self.cut_s - 0.2 <= p.start_s < self.resume_s), None)


def make_clips(spoken: Spoken, hesitation_ms: int, seed: int) -> list[Clip]:
    """The utterance complete, and broken off at each of its cut points (in a quiet room's noise)."""
    lead = noise_floor(int(LEAD_S * RATE), seed)
    tail = noise_floor(int(TAIL_S * RATE), seed + 1)
    speech = spoken.audio + noise_floor(len(spoken.audio), seed + 2)
    end = LEAD_S + len(speech) / RATE
    clips = [Clip("complete", spoken, "", end, None, None, audio=np.concatenate([lead, speech, tail]))]
    for k, (cut, words) in enumerate(spoken.cuts):
        gap = noise_floor(int(hesitation_ms * RATE / 1000), seed + 3 + k)
        audio = np.concatenate([lead, speech[:cut], gap, speech[cut:], tail])
        cut_s = LEAD_S + cut / RATE
        resume = cut_s + len(gap) / RATE
        clips.append(Clip("hesitation", spoken, words, end + len(gap) / RATE, resume, cut_s, audio=audio))
    return clips


def find_pauses(audio: np.ndarray, voice_options) -> list[PauseRecord]:
    """The pauses the loop's VAD + segmenter see in `audio` (no completion check: each pause runs until
    speech resumes or max_silence_ms)."""
    from ..audio.frames import FramePipeline
    from ..audio.segmenter import End, Pause, Resume, Segmenter

    frames = FramePipeline(voice_options, None, "off")
    seg = Segmenter(voice_options.endpoint, voice_options.vad, voice_options.barge_in)
    seg.completion = lambda: False
    min_frames = math.ceil(voice_options.endpoint.min_silence_ms / FRAME_MS)
    out: list[PauseRecord] = []
    current: PauseRecord | None = None
    for i in range(len(audio) // FRAME):
        for vf in frames.feed(audio[i * FRAME : (i + 1) * FRAME], (i + 1) * FRAME / RATE):
            for ev in seg.push(vf):
                if isinstance(ev, Pause):
                    current = PauseRecord(vf.index, audio_at_pause=seg.audio_so_far())
                    out.append(current)
                elif isinstance(ev, Resume) and current is not None:
                    current.frames = vf.index - current.start
                    current = None
                elif isinstance(ev, End) and current is not None:
                    current.frames, current.by_max = vf.index - current.start + 1, ev.reason == "max_silence"
                    current = None
            if current is not None and seg.state == "pause" and vf.index - current.start + 1 == min_frames:
                current.audio_at_min = seg.audio_so_far()
    if current is not None:  # the clip ended mid-pause
        current.frames = len(audio) // FRAME - current.start
    return out


def _cpu_call(fn, *args, **kwargs):
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn(*args, **kwargs)
    return out, (time.process_time() - c0) * 1000, (time.perf_counter() - t0) * 1000


def judge_pauses(clip: Clip, recognizer, model, window_s: float) -> None:
    for p in clip.pauses:
        result, p.asr_ms, _ = _cpu_call(recognizer.transcribe_short, p.audio_at_pause, min_window_s=window_s)
        p.text = result.text
        r, p.model_ms, p.model_wall_ms = _cpu_call(model.probability, p.audio_at_pause)
        p.p_pause = r.probability
        if p.audio_at_min is not None:
            r, p.model_min_ms, _ = _cpu_call(model.probability, p.audio_at_min)
            p.p_min = r.probability
        p.audio_at_pause = p.audio_at_min = None  # keep the memory flat


# -- strategies: (finished?, latency ms, run at min_silence?) per pause ---------------------------------------
def strategies(threshold: float) -> dict:
    rule = transcript_looks_complete
    return {
        "rule": lambda p: (rule(p.text), p.asr_ms, False),
        "model": lambda p: (p.p_pause >= threshold, p.model_ms, False),
        "model_at_min_silence": lambda p: (p.p_min is not None and p.p_min >= threshold, p.model_min_ms, True),
        "model_and_rule": lambda p: (p.p_pause >= threshold and rule(p.text), max(p.model_ms, p.asr_ms), False),
        "model_or_rule": lambda p: (
            p.p_pause >= threshold or rule(p.text),
            p.model_ms if p.p_pause >= threshold else max(p.model_ms, p.asr_ms),
            False,
        ),
    }


def endpoint(clip: Clip, decide, min_silence_ms: float) -> tuple[float, str]:
    """When (stream seconds, end of the frame) and why the turn would end under a strategy."""
    min_frames = math.ceil(min_silence_ms / FRAME_MS)
    for p in clip.pauses:
        finished, latency_ms, at_min = decide(p)
        if finished:
            answer = math.ceil(latency_ms / FRAME_MS)
            k = min_frames + answer if at_min else max(min_frames, answer + 1)
            if k <= p.frames:
                return (p.start + k) * FRAME / RATE, "complete"
        if p.by_max:
            return (p.start + p.frames) * FRAME / RATE, "max_silence"
    return len(clip.audio) / RATE, "none"


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def evaluate(clips: list[Clip], rows: list[tuple[str, float, float]]) -> list[dict]:
    """Each row: (strategy, min_silence_ms, Smart Turn threshold)."""
    out = []
    for name, min_ms, threshold in rows:
        decide = strategies(threshold)[name]
        cut_off, waits, by_max, cut_examples = 0, [], 0, []
        hesitations = [c for c in clips if c.kind == "hesitation"]
        for clip in clips:
            end_s, reason = endpoint(clip, decide, min_ms)
            if clip.kind == "hesitation" and end_s <= clip.resume_s:
                cut_off += 1
                if len(cut_examples) < 6:
                    cut_examples.append(f"{clip.prefix!r} [{clip.spoken.voice}]")
                continue
            if clip.kind == "complete" and end_s < clip.true_end_s:
                cut_off += 1  # ended in a gap between two words
                continue
            if clip.kind == "complete":
                waits.append((end_s - clip.true_end_s) * 1000)
                by_max += reason != "complete"
        completes = sum(c.kind == "complete" for c in clips)
        out.append(
            {
                "strategy": name,
                "min_silence_ms": min_ms,
                "threshold": threshold if name != "rule" else None,
                "cut_off": cut_off,
                "requests": len(clips),
                "hesitations": len(hesitations),
                "wait_p50_ms": _pct(waits, 50),
                "wait_p90_ms": _pct(waits, 90),
                "wait_mean_ms": round(float(np.mean(waits)), 1) if waits else None,
                "max_silence_ends": by_max,
                "complete_requests": completes,
                "cut_off_examples": cut_examples,
            }
        )
    return out


def accuracy(clips: list[Clip], threshold: float) -> dict:
    finished = [p for c in clips if c.kind == "complete" and (p := c.final_pause()) is not None]
    broken = [p for c in clips if c.kind == "hesitation" and (p := c.hesitation_pause()) is not None]

    def score(pred) -> dict:
        tp = sum(bool(pred(p)) for p in finished)
        tn = sum(not pred(p) for p in broken)
        n = len(finished) + len(broken)
        return {
            "accuracy": round((tp + tn) / n, 3) if n else None,
            "finished_said_finished": f"{tp}/{len(finished)}",
            "broken_off_said_unfinished": f"{tn}/{len(broken)}",
        }

    return {
        "smart_turn_at_pause": score(lambda p: p.p_pause >= threshold),
        "smart_turn_at_min_silence": score(lambda p: p.p_min is not None and p.p_min >= threshold),
        "rule_on_whisper": score(lambda p: transcript_looks_complete(p.text)),
    }


def run_turn_end_bench(
    config,
    *,
    voices: tuple[str, ...] = DEFAULT_VOICES,
    limit: int | None = None,
    hesitation_ms: int = 600,
    threshold: float | None = None,
    progress: bool = True,
) -> dict:
    from ..runtime.asr import get_recognizer
    from ..runtime.models import ModelStore
    from ..runtime.tts import get_tts
    from ..runtime.turn_end import get_turn_end_model

    say = (lambda m: print(f"… {m}", file=sys.stderr, flush=True)) if progress else None
    store = ModelStore(config.paths)
    endpoint_options = config.voice.endpoint
    threshold = endpoint_options.turn_model_min_probability if threshold is None else threshold
    recognizer = get_recognizer(store, config.models.asr)
    model = get_turn_end_model(store, config, endpoint_options.turn_model_threads)
    model.probability(np.zeros(RATE, np.float32))  # warm
    recognizer.transcribe_short(np.zeros(RATE // 2, np.float32))
    spoken = build_set(requests(limit), tuple(voices), get_tts(store), recognizer, say)
    clips: list[Clip] = []
    for n, s in enumerate(spoken):
        for clip in make_clips(s, hesitation_ms, seed=100 + 7 * n):
            clip.pauses = find_pauses(clip.audio, config.voice)
            judge_pauses(clip, recognizer, model, config.voice.listen.asr_min_window_s)
            clips.append(clip)
        if say and (n + 1) % 10 == 0:
            say(f"judged {n + 1}/{len(spoken)} utterances ({len(clips)} clips)")
    calls = [p for c in clips for p in c.pauses]
    min_ms = float(endpoint_options.min_silence_ms)  # the rule's (224 ms)
    model_ms = float(endpoint_options.turn_model_min_silence_ms)  # the turn-end model's (160 ms)
    rows = [
        ("rule", min_ms, threshold),
        ("rule", model_ms, threshold),
        ("model", min_ms, threshold),
        ("model", model_ms, threshold),
        ("model", min_ms, 0.9),
        ("model_at_min_silence", min_ms, threshold),
        ("model_and_rule", min_ms, threshold),
        ("model_and_rule", model_ms, threshold),
        ("model_and_rule", min_ms, 0.9),
        ("model_or_rule", min_ms, threshold),
    ]
    return {
        "utterances": len(spoken),
        "clips": len(clips),
        "voices": list(voices),
        "hesitation_ms": hesitation_ms,
        "threshold": threshold,
        "min_silence_ms": min_ms,
        "max_silence_ms": endpoint_options.max_silence_ms,
        "smart_turn_cpu_ms_p50": _pct([p.model_ms for p in calls], 50),
        "smart_turn_cpu_ms_p90": _pct([p.model_ms for p in calls], 90),
        "smart_turn_wall_ms_p50": _pct([p.model_wall_ms for p in calls], 50),
        "whisper_pause_cpu_ms_p50": _pct([p.asr_ms for p in calls], 50),
        "whisper_pause_cpu_ms_p90": _pct([p.asr_ms for p in calls], 90),
        "calls": len(calls),
        "accuracy": accuracy(clips, threshold),
        "accuracy_by_voice": {
            v: {k: a["accuracy"] for k, a in accuracy([c for c in clips if c.spoken.voice == v], threshold).items()}
            for v in voices
        },
        "threshold_sweep": {
            str(t): accuracy(clips, t)["smart_turn_at_pause"]["accuracy"] for t in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
        },
        "strategies": evaluate(clips, rows),
        "strategies_by_voice": {v: evaluate([c for c in clips if c.spoken.voice == v], rows) for v in voices},
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def print_result(r: dict) -> None:
    print(
        f"Turn end, offline: {r['utterances']} utterances ({', '.join(r['voices'])}), {r['clips']} clips "
        f"(each complete, and broken off with a {r['hesitation_ms']} ms pause); load average {r['load_average']}"
    )
    print(
        f"Smart Turn v3.2: {r['smart_turn_cpu_ms_p50']} ms CPU per call (p90 {r['smart_turn_cpu_ms_p90']}), "
        f"wall {r['smart_turn_wall_ms_p50']} ms; Whisper's pause pass {r['whisper_pause_cpu_ms_p50']} ms CPU "
        f"(p90 {r['whisper_pause_cpu_ms_p90']}); {r['calls']} pauses"
    )
    for name, a in r["accuracy"].items():
        print(
            f"  {name:26s} accuracy {a['accuracy']}: finished → finished {a['finished_said_finished']}, "
            f"broken off → unfinished {a['broken_off_said_unfinished']}"
        )
    print(f"  threshold sweep (at pause): {r['threshold_sweep']}")
    for voice, a in r.get("accuracy_by_voice", {}).items():
        print(f"  {voice}: " + ", ".join(f"{k} {v}" for k, v in a.items()))
    tables = [("all voices", r["strategies"])]
    if len(r.get("strategies_by_voice", {})) > 1:
        tables += list(r["strategies_by_voice"].items())
    for title, rows in tables:
        head = f"{title:22s} {'thr':>4s} {'min ms':>6s} {'cut off':>9s} {'wait p50':>9s} {'p90':>7s} {'mean':>7s}"
        print(head + "  max-silence ends")
        for s in rows:
            thr = s["threshold"] if s["threshold"] is not None else ""
            print(
                f"  {s['strategy']:20s} {thr!s:>4s} {s['min_silence_ms']:6.0f} "
                f"{s['cut_off']:4d}/{s['hesitations']:<4d} {s['wait_p50_ms']!s:>9s} {s['wait_p90_ms']!s:>7s} "
                f"{s['wait_mean_ms']!s:>7s}  "
                f"{s['max_silence_ends']:>4d}/{s['complete_requests']}"
            )
