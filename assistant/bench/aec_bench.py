"""`earshot bench aec`: which echo canceller, measured.

The assistant's own voice (hibari) is played through three simulated rooms (direct path + an
exponentially decaying reverberant tail, 40–250 ms of render→capture delay, RT60 0.2–0.5 s) and
reaches the microphone at speaker level (peak −6 dBFS). For every installed backend:

- ERLE (echo return loss enhancement), echo only: 10·log10(E[mic²]/E[out²]) after the first second
  (adaptation) and over the whole signal;
- near-end speech kept during double talk (another voice speaking over the echo): SI-SDR of the
  output against the clean near-end speech, before and after cancellation;
- false barge-in risk: the share of 32 ms frames in which silero VAD calls the cancelled echo-only
  output speech at the barge-in threshold (what would make the assistant interrupt itself);
- CPU per second of audio.
"""

from __future__ import annotations

import time

import numpy as np

from ..audio.aec import AEC_FRAME, BACKENDS, erle_db, load_echo_canceller
from ..errors import EarshotError

LICENCES = {
    "livekit": "Apache-2.0 (livekit Python SDK; WebRTC inside: BSD-3-Clause)",
    "webrtc-apm": "BSD-3-Clause (aec-audio-processing; webrtc-audio-processing 2.1)",
    "duplex-audio": "not measured: needs Python >= 3.12 (this project supports 3.11)",
}
ROOMS = (
    {"name": "small, near", "delay_ms": 40, "rt60_s": 0.2},
    {"name": "living room", "delay_ms": 120, "rt60_s": 0.35},
    {"name": "large, far", "delay_ms": 250, "rt60_s": 0.5},
)
FAR_TEXT = (
    "Here is what I can do. I can transcribe, speak, denoise, measure and edit audio. Name a file or an "
    "artifact, and I will get to work on it right away. The result is always a new file."
)
NEAR_TEXT = "Stop, stop. That's enough, thank you."


def room_impulse_response(
    delay_ms: float, rt60_s: float, seed: int = 0, sr: int = 16_000, drr_db: float = 0.0
) -> np.ndarray:
    """Direct path after `delay_ms`, then a diffuse tail decaying 60 dB in `rt60_s`, with a
    direct-to-reverberant ratio of `drr_db` (≈ 0 dB at 1–2 m in a living room). Unit energy:
    convolving keeps the level, so the echo reaches the microphone at speaker level."""
    rng = np.random.default_rng(seed)
    n = int(sr * rt60_s * 1.2)
    t = np.arange(1, n) / sr
    tail = rng.standard_normal(n - 1) * np.exp(-6.9 * t / rt60_s)
    tail *= np.sqrt(10 ** (-drr_db / 10) / np.sum(tail**2))
    h = np.concatenate([[1.0], tail])
    h /= np.sqrt(np.sum(h**2))
    return np.concatenate([np.zeros(int(delay_ms * sr / 1000)), h]).astype(np.float32)


def _si_sdr(ref: np.ndarray, est: np.ndarray) -> float:
    n = min(len(ref), len(est))
    ref, est = ref[:n].astype(np.float64), est[:n].astype(np.float64)
    a = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    return float(10 * np.log10((np.sum((a * ref) ** 2) + 1e-12) / (np.sum((est - a * ref) ** 2) + 1e-12)))


def _aligned_si_sdr(ref: np.ndarray, est: np.ndarray, max_lag: int = 400) -> float:
    """APMs delay their output by a few ms (band-split filters): search the lag first."""
    best = -np.inf
    for lag in range(0, max_lag, 8):
        best = max(best, _si_sdr(ref, est[lag:]))
    return best


def _run(canceller, mic: np.ndarray, far: np.ndarray) -> tuple[np.ndarray, float]:
    out = np.zeros_like(mic)
    t0 = time.process_time()
    for i in range(0, len(mic) - AEC_FRAME + 1, AEC_FRAME):
        out[i : i + AEC_FRAME] = canceller.process(mic[i : i + AEC_FRAME], far[i : i + AEC_FRAME])
    return out, time.process_time() - t0


def _speech_voices():
    from ..audio.files import resample
    from ..config import EarshotConfig
    from ..runtime.models import ModelStore
    from ..runtime.tts import get_tts

    tts = get_tts(ModelStore(EarshotConfig().paths))
    far = resample(tts.synthesize(FAR_TEXT), tts.sample_rate_hz, 16_000)
    near = resample(tts.synthesize(NEAR_TEXT, speed=1.1, seed=3), tts.sample_rate_hz, 16_000)
    return far.astype(np.float32), near.astype(np.float32)


def run_aec_bench() -> dict:
    from ..audio.vad import FRAME_SAMPLES, SileroVad
    from ..config import BargeInOptions

    far, near = _speech_voices()
    threshold = BargeInOptions().speech_threshold
    rng = np.random.default_rng(7)
    results = []
    for backend in BACKENDS:
        try:
            load_echo_canceller(backend)
        except EarshotError as exc:
            results.append({"backend": backend, "available": False, "why": exc.message, "licence": LICENCES[backend]})
            continue
        rooms = []
        for room in ROOMS:
            h = room_impulse_response(room["delay_ms"], room["rt60_s"], seed=len(rooms))
            echo = np.convolve(far, h)[: len(far)].astype(np.float32)
            echo *= 0.5 / np.max(np.abs(echo))
            noise = rng.standard_normal(len(echo)).astype(np.float32) * 10 ** (-70 / 20)
            mic = echo + noise
            out, cpu = _run(load_echo_canceller(backend), mic, far)
            s = 16_000
            # Double talk: the near-end voice starts 4 s in, over the echo, at a similar level.
            start = 4 * s
            near_scaled = near * (0.5 / np.max(np.abs(near)))
            seg = slice(start, min(len(mic), start + len(near_scaled)))
            mic_dt = mic.copy()
            mic_dt[seg] += near_scaled[: seg.stop - seg.start]
            out_dt, _ = _run(load_echo_canceller(backend), mic_dt, far)
            vad = SileroVad()
            tail = out[s:]
            frames = tail[: len(tail) - len(tail) % FRAME_SAMPLES].reshape(-1, FRAME_SAMPLES)
            probs = np.array([vad(f) for f in frames])
            rooms.append(
                {
                    "room": room["name"],
                    "delay_ms": room["delay_ms"],
                    "rt60_s": room["rt60_s"],
                    "erle_db": round(erle_db(mic[s:], out[s:]), 1),
                    "erle_first_second_db": round(erle_db(mic[:s], out[:s]), 1),
                    "near_si_sdr_in_db": round(_si_sdr(near_scaled[: seg.stop - seg.start], mic_dt[seg]), 1),
                    "near_si_sdr_out_db": round(
                        _aligned_si_sdr(near_scaled[: seg.stop - seg.start - 400], out_dt[seg]), 1
                    ),
                    "false_barge_in_frames": round(float(np.mean(probs >= threshold)), 3),
                    "cpu_per_audio_s": round(cpu / (len(mic) / s), 4),
                }
            )
        results.append(
            {
                "backend": backend,
                "available": True,
                "licence": LICENCES[backend],
                "rooms": rooms,
                "erle_db_mean": round(float(np.mean([r["erle_db"] for r in rooms])), 1),
            }
        )
    results.append(
        {
            "backend": "duplex-audio",
            "available": False,
            "why": "requires Python >= 3.12",
            "licence": LICENCES["duplex-audio"],
        }
    )
    measured = [r for r in results if r.get("available")]
    chosen = max(measured, key=lambda r: r["erle_db_mean"])["backend"] if measured else "off"
    return {"backends": results, "chosen": chosen, "echo_level_dbfs_peak": -6.0}


def print_result(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Echo cancellation (simulated rooms, echo at speaker level)")
    for col in ("backend", "room", "ERLE dB", "ERLE 1st s", "near-end SI-SDR in→out dB", "false barge-in", "CPU/s"):
        table.add_column(col)
    for b in result["backends"]:
        if not b.get("available"):
            table.add_row(b["backend"], f"not available: {b['why']}", "", "", "", "", "")
            continue
        for r in b["rooms"]:
            table.add_row(
                b["backend"],
                r["room"],
                f"{r['erle_db']:.1f}",
                f"{r['erle_first_second_db']:.1f}",
                f"{r['near_si_sdr_in_db']:.1f} → {r['near_si_sdr_out_db']:.1f}",
                f"{r['false_barge_in_frames'] * 100:.1f} %",
                f"{r['cpu_per_audio_s'] * 1000:.0f} ms",
            )
    Console().print(table)
    print(f"chosen: {result['chosen']} (highest mean ERLE)")
