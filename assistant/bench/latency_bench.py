"""`earshot bench latency`: voice-to-voice latency through a real audio server.

A private PulseAudio (null sink speaker, pipe source microphone) carries everything: recorded
requests are written into the virtual microphone in real time, the assistant runs its real
sounddevice path, and the speaker's monitor is recorded. Latency is measured from the true end of
speech (the last audible sample of the recording, at the time it entered the microphone) to the
first audible sample of the reply on the monitor — both on the monotonic clock (audio/pulse.py
explains how each side is mapped to it and why the error only makes figures larger).

The speaker is fed back into the microphone through a simulated room (echo at speaker level), as
with open speakers: the echo canceller and the double-talk gate are part of what is measured.

In the same run:
- the naive sequential baseline (700 ms silence endpoint, full 30 s-window ASR, the whole plan,
  the whole reply synthesised before playback) on the same requests, and the ratio of medians;
- barge-in: a long reply is interrupted by speech; time from the speech onset to the last audible
  reply sample on the monitor;
- wake phrase: hit rate on the phrase said by several voices and false-accept rate on other
  speech, through the same ASR + fuzzy match as the loop.

Two sets of requests (bench/latency_sets.py): short **chat** the planner answers with `say` (p50/p90 over
the requests whose plan indeed had no steps), and spoken **commands** on the files of a bench workspace —
single tools, chains, references, project edits. A command's first informative audio is its
acknowledgement ("Removing the noise from memo.wav."), said the moment its plan exists; the time to the
spoken result (after the tools) is reported beside it, and so is the share of commands the command path
planned without the LLM. The naive baseline acknowledges nothing: it speaks when everything is done.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from .latency_sets import CHAT, COMMANDS, prepare_workspace

WAKE_POSITIVE_TAILS = ("", "what can you do?", "thanks a lot.")
WAKE_NEGATIVES = (
    "Hey there.",
    "Hey Ashley.",
    "Heresy.",
    "Her shot was good.",
    "Hey, how are you?",
    "Hair shop.",
    "What can you do?",
    "Thanks a lot.",
    "Remove the noise from memo dot wav.",
    "Fresh pot.",
    "Hey, Sarah.",
    "Here's the shot.",
    "Air show.",
    "Make it louder.",
    "Good morning.",
)
LONG_REPLY = (
    "Here is a longer answer, so that there is time to interrupt me. I can transcribe speech, speak text aloud, "
    "remove noise, measure loudness and edit audio files. Name a file or an artifact, and I will get to work "
    "on it right away."
)
BARGE_IN_PHRASES = ("Stop, please.", "Okay, stop.", "Stop talking.", "Please stop.", "Stop.")


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _voices(store):
    from ..runtime.tts import get_tts

    return get_tts(store)


def _utterance(tts, text: str, i: int) -> np.ndarray:
    from ..audio.files import resample

    speed = (0.95, 1.0, 1.08)[i % 3]
    audio = tts.synthesize(text, speed=speed, seed=11 + i)
    return resample(audio, tts.sample_rate_hz, 16_000).astype(np.float32) * 0.7


def _config(home: Path, llm: str | None, overrides: tuple[tuple[str, str, object], ...] = ()):
    from ..config import EarshotConfig, PathOptions, load_config

    base = load_config()
    config = EarshotConfig(paths=PathOptions(home_dir=home, models_dir=base.paths.models_dir))
    config.models = base.models
    if llm:
        config.models.llm = llm
    for table, key, value in overrides:  # `--turn-end`, `--asr-engine`: the loop's choices under test
        setattr(getattr(config.voice, table), key, value)
    return config


async def _run_pipeline(
    name: str,
    naive: bool,
    requests: list[tuple[str, str]],
    tts,
    llm: str | None,
    progress,
    barge_in: bool,
    overrides: tuple[tuple[str, str, object], ...] = (),
) -> dict:
    from ..events import (
        BargeInDismissed,
        Interrupted,
        PlanReady,
        PlaybackStarted,
        PlaybackStopped,
        SpeechDiscarded,
        SpeechStarted,
        TurnTiming,
    )
    from ..store.session import SessionStore
    from .aec_bench import room_impulse_response
    from .voice_rig import EchoPath, LiveRig, first_audible, speech_bounds

    home = Path(tempfile.mkdtemp(prefix=f"earshot-bench-{name}-"))
    config = _config(home, llm, overrides)
    store = SessionStore(config.paths.database_path)
    session = store.create_session(home / "workspace")
    prepare_workspace(session.workspace, tts)
    echo = EchoPath(room_impulse_response(20, 0.3, seed=3), gain=1.0, delay_ms=60)
    rows: list[dict] = []
    async with LiveRig(config, session, echo=echo, naive=naive) as rig:
        rig.server.feeder.noise_dbfs = -65.0
        for i, (text, kind) in enumerate(requests):
            audio = _utterance(tts, text, i)
            first, last = speech_bounds(audio)
            since = len(rig.events)
            n_turns = len(session.turns())
            idx = rig.say(np.concatenate([audio, np.zeros(1600, np.float32)]))
            true_start = rig.mic_time(idx + first)
            true_end = rig.mic_time(idx + last)
            # A "transient" (a first syllable too short to be sure of) is not an outcome: the frames go
            # to the pre-roll and the rest of the word usually starts the turn. An utterance that never
            # becomes speech is reported as such, after its own length and 3 s.
            started = await rig.wait_for(lambda e: isinstance(e, SpeechStarted), len(audio) / 16_000 + 3.0, since)
            timing = (
                None
                if started is None
                else await rig.wait_for(
                    lambda e: isinstance(e, TurnTiming) or isinstance(e, SpeechDiscarded) and e.reason != "transient",
                    180,
                    since,
                )
            )
            await rig.idle(quiet_s=0.4, timeout_s=300)
            row: dict = {"text": text, "kind": kind}
            turns = session.turns()
            if turns and len(turns) > n_turns:  # what the loop heard: the text the planner was given
                row["heard"] = turns[-1]["user_text"]
            if started is None:
                row["error"] = "not heard as speech (transients only)"
            elif timing is None:
                row["error"] = "no turn"
            elif not isinstance(timing.event, TurnTiming):
                row["error"] = f"discarded: {timing.event.reason} {timing.event.text!r}"
            if "error" in row:
                rows.append(row)
                continue
            t = timing.event
            plans = [s.event for s in rig.events[since:] if isinstance(s.event, PlanReady)]
            heard = [s.event for s in rig.events[since:] if isinstance(s.event, PlaybackStopped)]
            # Each utterance of the turn (an acknowledgement, then the result) starts with a PlaybackStarted
            # of its first sentence: the last one is the result.
            starts = [s.event.at_s for s in rig.events[since:] if isinstance(s.event, PlaybackStarted)]
            mon, mon_t0 = rig.monitor_audio(true_end - 0.05, time.monotonic())
            onset = first_audible(mon)
            audible = None if onset is None else mon_t0 + onset / 16_000
            row.update(
                {
                    # Nobody spoke over these replies: an interruption is the assistant hearing itself, and
                    # a dismissed barge-in is a pause its own voice caused (the reply then went on).
                    "self_interrupted": any(isinstance(s.event, Interrupted) for s in rig.events[since:]),
                    "own_voice_pauses": sum(isinstance(s.event, BargeInDismissed) for s in rig.events[since:]),
                    "short_answer": bool(plans) and not plans[-1].steps,
                    "planner": getattr(plans[-1], "planner", "llm") if plans else None,
                    "status": turns[-1]["status"] if turns else None,
                    "reply": " ".join(h.heard for h in heard),
                    "latency_ms": None if audible is None else (audible - true_end) * 1000,
                    "result_latency_ms": (starts[-1] - true_end) * 1000 if starts else None,
                    "speculative": t.speculative,
                    "asr_from_partial": t.asr_from_partial,
                    "endpoint_wait_ms": (t.endpoint_s - true_end) * 1000,
                    "asr_ms": None
                    if t.asr_done_s is None or t.asr_started_s is None
                    else (t.asr_done_s - t.asr_started_s) * 1000,
                    "plan_ms": None
                    if t.first_sentence_s is None or t.plan_started_s is None
                    else (t.first_sentence_s - t.plan_started_s) * 1000,
                    "first_tts_chunk_ms": None
                    if t.first_audio_ready_s is None or t.first_sentence_s is None
                    else (t.first_audio_ready_s - t.first_sentence_s) * 1000,
                    "audio_out_ms": None
                    if audible is None or t.first_audio_queued_s is None
                    else (audible - t.first_audio_queued_s) * 1000,
                    # Critical path after the endpoint: how long the reply's first audio was still missing.
                    "after_endpoint_ms": None
                    if t.first_audio_queued_s is None
                    else max(0.0, t.first_audio_queued_s - t.endpoint_s) * 1000,
                    "speech_s": (true_end - true_start),
                }
            )
            rows.append(row)
            if progress:
                progress(
                    f"{name} {i + 1}/{len(requests)}: {text!r} → {_r(row['latency_ms'])} ms"
                    + ("" if row["short_answer"] else f", result at {_r(row['result_latency_ms'])} ms")
                    + f" ({row['planner']} plan, {row['status']})"
                    + ("" if row.get("heard") in (None, text) else f", heard {row['heard']!r}")
                )
        barge = await _barge_in(rig, tts, progress) if barge_in else None
        device = {
            "input": "ALSA 'pulse' → PulseAudio pipe source 'mic' (16 kHz)",
            "output": f"ALSA 'pulse' → PulseAudio null sink 'spk' (monitor recorded), output buffer "
            f"{config.voice.output_latency_s * 1000:.0f} ms",
            "echo": f"{rig.loop.frames.echo_name} AEC; speaker fed back through a 0.3 s RT60 room, 60 ms",
            "speaker_underruns": getattr(getattr(rig.speaker, "sink", None), "underruns", None),
            "echo_path_resyncs": echo.resyncs,  # stalls that moved the simulated room's delay (0: fixed)
        }
    store.close()
    return {"rows": rows, "barge_in": barge, "device": device}


_BARGE_IN_EVENTS = {
    "SpeechStarted", "SpeechDiscarded", "PartialTranscript", "BargeInDismissed", "Interrupted", "PlaybackStopped",
    "TurnStarted",
}  # fmt: skip


async def _barge_in(rig, tts, progress) -> dict:
    from ..events import Interrupted, PlaybackStarted, SpeechStarted
    from .voice_rig import last_audible, speech_bounds

    stops = []
    for i, phrase in enumerate(BARGE_IN_PHRASES):
        await rig.idle(quiet_s=0.4)
        since = len(rig.events)
        speaking = asyncio.create_task(rig.speaker.say(LONG_REPLY))
        started = await rig.wait_for(lambda e: isinstance(e, PlaybackStarted), 30, since)
        if started is None:
            speaking.cancel()
            continue
        await asyncio.sleep(1.5 + 0.3 * i)
        audio = _utterance(tts, phrase, i)
        first, _ = speech_bounds(audio)
        idx = rig.say(audio)
        onset = rig.mic_time(idx + first)
        try:
            await asyncio.wait_for(speaking, timeout=30)
        except (TimeoutError, Exception):
            speaking.cancel()
        await asyncio.sleep(0.6)
        mon, mon_t0 = rig.monitor_audio(onset - 0.5, onset + 2.0)
        # The reply is the only thing on the monitor: its last audible sample is when it stopped.
        last = last_audible(mon)
        stopped_ms = None if last is None else (mon_t0 + last / 16_000 - onset) * 1000
        interrupted = (
            any(isinstance(s.event, Interrupted) for s in rig.events[since:])
            or rig.speaker is not None
            and not rig.speaker.busy
        )
        # When the loop noticed the speech (its SpeechStarted event), for telling a slow VAD from a slow stop.
        noticed = [s.at_s for s in rig.events[since:] if isinstance(s.event, SpeechStarted) and s.at_s >= onset - 0.2]
        stops.append(
            {
                "phrase": phrase,
                "stop_ms": stopped_ms,
                "interrupted": interrupted,
                "noticed_ms": _r((noticed[0] - onset) * 1000) if noticed else None,
                # What the loop did around it (ms from the onset), to tell a missed phrase from a false stop.
                "events": [
                    f"{(s.at_s - onset) * 1000:+.0f} ms {type(s.event).__name__} {getattr(s.event, 'text', '')}".strip()
                    for s in rig.events[since:]
                    if type(s.event).__name__ in _BARGE_IN_EVENTS
                ],
            }
        )
        if progress:
            progress(
                f"barge-in {i + 1}/{len(BARGE_IN_PHRASES)}: {phrase!r} → playback stopped {_r(stopped_ms)} ms "
                "after speech onset"
            )
        await rig.idle(quiet_s=0.5)
    values = [s["stop_ms"] for s in stops if s["stop_ms"] is not None]
    return {"trials": stops, "p50_ms": _r(_percentile(values, 50)), "max_ms": _r(max(values) if values else None)}


def _wake_rates(store, tts, progress) -> dict:
    import subprocess

    import soundfile as sf

    from ..audio.files import resample
    from ..audio.wake import WakeMatcher
    from ..config import ListenOptions
    from ..runtime.asr import get_recognizer

    options = ListenOptions()
    rec = get_recognizer(store, "whisper-tiny.en")
    matcher = WakeMatcher(options.wake_phrase, options.wake_min_score)
    clips: list[tuple[str, bool, np.ndarray]] = []
    for i, tail in enumerate(WAKE_POSITIVE_TAILS):
        for j, speed in enumerate((0.9, 1.0, 1.1)):
            text = options.wake_phrase + (", " + tail if tail else ".")
            clips.append((text, True, resample(tts.synthesize(text, speed=speed, seed=40 + 3 * i + j), 24_000, 16_000)))
    for text in WAKE_NEGATIVES:
        clips.append((text, False, resample(tts.synthesize(text, seed=90), 24_000, 16_000)))
    with tempfile.TemporaryDirectory() as tmp:
        for voice in ("en-us", "en-gb+m3", "en+f2"):
            for text, positive in (
                (options.wake_phrase + ".", True),
                (options.wake_phrase + ", what can you do?", True),
                ("Hey there.", False),
                ("What can you do?", False),
            ):
                path = Path(tmp) / "w.wav"
                try:
                    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
                except (OSError, subprocess.CalledProcessError):
                    continue
                audio, sr = sf.read(str(path), dtype="float32")
                clips.append((f"{text} [espeak {voice}]", positive, resample(audio, sr, 16_000)))
    results = []
    for text, positive, audio in clips:
        heard = rec.transcribe_short(audio, hotwords=options.wake_phrase).text
        match = matcher.match(heard)
        results.append(
            {"said": text, "heard": heard, "wake_phrase": positive, "accepted": match.accepted, "score": match.score}
        )
    pos = [r for r in results if r["wake_phrase"]]
    neg = [r for r in results if not r["wake_phrase"]]
    hit = sum(r["accepted"] for r in pos) / max(1, len(pos))
    fa = sum(r["accepted"] for r in neg) / max(1, len(neg))
    if progress:
        progress(f"wake phrase: hit rate {hit:.0%} ({len(pos)} clips), false accepts {fa:.0%} ({len(neg)} clips)")
    return {
        "phrase": options.wake_phrase,
        "min_score": options.wake_min_score,
        "hit_rate": round(hit, 3),
        "false_accept_rate": round(fa, 3),
        "positives": len(pos),
        "negatives": len(neg),
        "clips": results,
    }


def _summary(rows: list[dict]) -> dict:
    """One set's figures. Chat: over the requests answered in `say` (a tool plan is not chat); commands:
    over the requests whose plan had steps, first informative audio (the acknowledgement) and the result."""
    ok = [r for r in rows if r.get("latency_ms") is not None]
    commands = rows and rows[0].get("kind") == "command"
    counted = [r for r in ok if bool(r.get("short_answer")) != bool(commands)]
    lat = [r["latency_ms"] for r in counted]
    lat_all = [r["latency_ms"] for r in ok]

    def med(key, subset):
        vals = [r[key] for r in subset if r.get(key) is not None]
        return _r(statistics.median(vals)) if vals else None

    stages = {
        k: med(k, counted or ok)
        for k in ("endpoint_wait_ms", "asr_ms", "plan_ms", "first_tts_chunk_ms", "audio_out_ms", "after_endpoint_ms")
    }
    out = {
        "n": len(rows),
        "measured": len(ok),
        "counted": len(counted),
        "p50_ms": _r(_percentile(lat, 50)),
        "p90_ms": _r(_percentile(lat, 90)),
        "max_ms": _r(max(lat) if lat else None),
        "p50_all_ms": _r(_percentile(lat_all, 50)),
        "p90_all_ms": _r(_percentile(lat_all, 90)),
        "speculative_share": round(sum(1 for r in ok if r.get("speculative")) / max(1, len(ok)), 2),
        # finals that were a partial pass's transcript (voice/speculation.py `_read_all_of`)
        "asr_from_partial_share": round(sum(1 for r in ok if r.get("asr_from_partial")) / max(1, len(ok)), 2),
        "self_interrupted": sum(1 for r in rows if r.get("self_interrupted")),
        "own_voice_pauses": sum(r.get("own_voice_pauses", 0) for r in rows),
        "stages_median": stages,
    }
    planned = [r for r in rows if r.get("planner")]
    by_llm = [r["latency_ms"] for r in counted if r.get("planner") == "llm"]
    out.update(
        {
            "fast_path_share": round(sum(r["planner"] == "fast" for r in planned) / max(1, len(planned)), 2),
            # The requests the LLM planned, on their own: what a share of templates must not hide.
            "llm_counted": len(by_llm),
            "llm_p50_ms": _r(_percentile(by_llm, 50)),
            "llm_p90_ms": _r(_percentile(by_llm, 90)),
        }
    )
    if commands:
        results = [r["result_latency_ms"] for r in counted if r.get("result_latency_ms") is not None]
        out.update(
            {
                "result_p50_ms": _r(_percentile(results, 50)),
                "result_p90_ms": _r(_percentile(results, 90)),
                "ok": sum(r.get("status") == "ok" for r in rows),
            }
        )
    return out


def run_latency_bench(
    utterances: int = 20,
    commands: int = len(COMMANDS),
    baseline: bool = True,
    wake: bool = True,
    llm: str | None = None,
    progress: bool = True,
    turn_end: str | None = None,
    asr_engine: str | None = None,
) -> dict:
    """`turn_end` / `asr_engine`: the voice loop's [voice.endpoint] turn_end and [voice.listen] asr_engine
    for this run (default: the defaults)."""
    from ..audio.pulse import pulseaudio_available
    from ..config import load_config
    from ..errors import EarshotError
    from ..runtime.models import ModelStore

    reason = pulseaudio_available()
    if reason:
        raise EarshotError(f"the latency benchmark needs PulseAudio: {reason}")
    say = (lambda msg: print(msg, flush=True)) if progress else None
    overrides = tuple([("endpoint", "turn_end", turn_end)] if turn_end else []) + tuple(
        [("listen", "asr_engine", asr_engine)] if asr_engine else []
    )
    store = ModelStore(load_config().paths)
    tts = _voices(store)
    requests = [(CHAT[i % len(CHAT)], "chat") for i in range(utterances)]
    requests += [(COMMANDS[i % len(COMMANDS)], "command") for i in range(commands)]
    t0 = time.monotonic()
    runs = {
        "streaming": asyncio.run(
            _run_pipeline("streaming", False, requests, tts, llm, say, barge_in=True, overrides=overrides)
        )
    }
    if baseline:
        runs["baseline"] = asyncio.run(
            _run_pipeline("baseline", True, requests, tts, llm, say, barge_in=False, overrides=overrides)
        )
    sets = {
        name: {kind: _summary([r for r in run["rows"] if r["kind"] == kind]) for kind in ("chat", "command")}
        for name, run in runs.items()
    }
    fast = sets["streaming"]
    result: dict = {
        "commands": fast["command"],
        "chat": fast["chat"],
        "ratio_p50": None,
        "stages": {"commands": fast["command"]["stages_median"], "chat": fast["chat"]["stages_median"]},
        "device": runs["streaming"]["device"],
        "barge_in_stop_ms": runs["streaming"]["barge_in"],
        "utterances": {"chat": utterances, "commands": commands},
        "turn_end": turn_end or "default",
        "asr_engine": asr_engine or "default",
    }
    if baseline:
        base = sets["baseline"]
        result["baseline"] = {"commands": base["command"], "chat": base["chat"]}
        # First informative audio, every measured request of both sets, against the same requests in the same run.
        ours = [r["latency_ms"] for r in runs["streaming"]["rows"] if r.get("latency_ms") is not None]
        theirs = [r["latency_ms"] for r in runs["baseline"]["rows"] if r.get("latency_ms") is not None]
        if ours and theirs:
            result["ratio_p50"] = round(_percentile(ours, 50) / _percentile(theirs, 50), 3)
        for kind, key in (("command", "commands"), ("chat", "chat")):
            a, b = fast[kind]["p50_ms"], base[kind]["p50_ms"]
            result[key]["ratio_p50"] = round(a / b, 3) if a and b else None
    if wake:
        result["wake"] = _wake_rates(store, tts, say)
    result["rows"] = {name: run["rows"] for name, run in runs.items()}
    result["elapsed_s"] = round(time.monotonic() - t0, 1)
    return result


def print_result(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="Voice-to-voice latency: true end of speech → first audible informative sample (PulseAudio)")
    for col in ("set", "pipeline", "p50", "p90", "max", "result p50", "fast path", "LLM-planned p50", "n"):
        table.add_column(col)
    for key, kind in (("commands", "command"), ("chat", "chat")):
        rows = [("streaming", result[key])] + (
            [("naive baseline", result["baseline"][key])] if "baseline" in result else []
        )
        for name, s in rows:
            table.add_row(
                key,
                name,
                f"{s['p50_ms']} ms",
                f"{s['p90_ms']} ms",
                f"{s['max_ms']} ms",
                f"{s.get('result_p50_ms')} ms" if kind == "command" else "",
                f"{s.get('fast_path_share', 0):.0%}",
                "—" if s.get("llm_p50_ms") is None else f"{s['llm_p50_ms']} ms ({s['llm_counted']})",
                f"{s['counted']}/{s['n']}",
            )
    console.print(table)
    if result.get("ratio_p50") is not None:
        console.print(f"ratio of medians (streaming / baseline), all requests: {result['ratio_p50']}")
    stages = Table(title="Stages (medians, ms)")
    stages.add_column("stage")
    stages.add_column("commands")
    stages.add_column("chat")
    for k, v in result["stages"]["commands"].items():
        stages.add_row(k, str(v), str(result["stages"]["chat"].get(k)))
    console.print(stages)
    n = result["commands"]["n"] + result["chat"]["n"]
    cut = result["commands"]["self_interrupted"] + result["chat"]["self_interrupted"]
    console.print(f"replies the assistant cut itself off (its own voice heard as the user): {cut} of {n}")
    b = result.get("barge_in_stop_ms") or {}
    console.print(
        f"barge-in: playback stopped {b.get('p50_ms')} ms (median), {b.get('max_ms')} ms (max) after "
        "the user's speech onset"
    )
    if result.get("wake"):
        w = result["wake"]
        console.print(
            f"wake phrase {w['phrase']!r}: hit rate {w['hit_rate']:.0%} of {w['positives']}, "
            f"false accepts {w['false_accept_rate']:.0%} of {w['negatives']}"
        )
    console.print(f"device: {result['device']}")
