"""effects: each effect measurably does what it says, on signals the test builds."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from synth_signals import (
    cents,
    envelope_depth_db,
    harmonic_tone,
    median_f0_hz,
    pink_noise,
    rms_db,
    schroeder_decay_time_s,
    spectral_centroid_hz,
    true_peak_dbfs,
)

from assistant.audio_models.effects import apply_chain, parse_chain
from assistant.errors import EarshotError, PathRefused
from tests.conftest import add_input

pytestmark = pytest.mark.integration

SR = 48_000


def fx(x: np.ndarray, chain: str, rate: int = SR) -> np.ndarray:
    """Mono in, mono out through the chain."""
    return apply_chain(x.astype(np.float32)[:, None], rate, parse_chain(chain))[:, 0].astype(np.float64)


def transfer_db(x: np.ndarray, y: np.ndarray, freq_hz: float, rate: int = SR) -> float:
    """Gain at one frequency: Welch cross-spectrum / input spectrum (an H1 estimate)."""
    from scipy import signal

    n = min(len(x), len(y))
    f, pxy = signal.csd(x[:n], y[:n], fs=rate, nperseg=8192)
    _, pxx = signal.welch(x[:n], fs=rate, nperseg=8192)
    k = int(np.argmin(np.abs(f - freq_hz)))
    return float(20 * np.log10(np.abs(pxy[k]) / pxx[k]))


@pytest.mark.parametrize("semitones", [3, -5])
def test_pitch_shift_moves_f0_by_the_interval(semitones):
    x = harmonic_tone(220, 2.0, SR)
    y = fx(x, f"pitch {semitones:+d}")
    assert len(y) == len(x)
    moved = cents(median_f0_hz(y, SR), median_f0_hz(x, SR))
    print(f"MEASURED pitch {semitones:+d} st: f0 moved {moved:.1f} cents")
    assert moved == pytest.approx(100 * semitones, abs=20)


def test_time_stretch_changes_duration_not_pitch():
    x = harmonic_tone(220, 2.0, SR)
    y = fx(x, "stretch 1.5")
    assert len(y) / len(x) == pytest.approx(1.5, abs=0.001)
    assert abs(cents(median_f0_hz(y, SR), median_f0_hz(x, SR))) < 20
    z = fx(x, "time stretch 0.5x")
    assert len(z) / len(x) == pytest.approx(0.5, abs=0.001)


def test_lowpass_lowers_and_highpass_raises_the_centroid():
    x = pink_noise(SR * 2)
    c0 = spectral_centroid_hz(x, SR)
    assert spectral_centroid_hz(fx(x, "lowpass 1000"), SR) < 0.4 * c0
    assert spectral_centroid_hz(fx(x, "highpass 2000"), SR) > 1.5 * c0


def test_eq_and_shelves_hit_their_gains():
    x = np.random.default_rng(0).standard_normal(SR * 3) * 0.1
    y = fx(x, "eq 1000 +6")
    assert transfer_db(x, y, 1000) == pytest.approx(6, abs=0.7)
    assert transfer_db(x, y, 100) == pytest.approx(0, abs=0.7)
    bass = fx(x, "bass -6")
    assert transfer_db(x, bass, 40) == pytest.approx(-6, abs=1.0)
    assert transfer_db(x, bass, 5000) == pytest.approx(0, abs=0.5)
    treble = fx(x, "treble 6")
    assert transfer_db(x, treble, 12000) == pytest.approx(6, abs=1.0)


def test_gain_is_exact():
    x = pink_noise(SR) * 0.05
    assert rms_db(fx(x, "gain -6")) - rms_db(x) == pytest.approx(-6, abs=0.01)


def _burst_then_silence(seconds_on: float = 0.3, seconds_off: float = 2.5) -> np.ndarray:
    x = np.zeros(int((seconds_on + seconds_off) * SR))
    x[: int(seconds_on * SR)] = np.random.default_rng(1).standard_normal(int(seconds_on * SR)) * 0.3
    return x


def test_reverb_lengthens_the_decay_and_bigger_rooms_decay_longer():
    x = _burst_then_silence()
    end = int(0.3 * SR)
    dry = schroeder_decay_time_s(fx(x, "gain 0"), SR, end)
    small = schroeder_decay_time_s(fx(x, "reverb 0.3"), SR, end)
    large = schroeder_decay_time_s(fx(x, "reverb 0.9"), SR, end)
    print(f"MEASURED T20 dry {dry:.3f} s, reverb 0.3 {small:.3f} s, reverb 0.9 {large:.3f} s")
    assert dry < 0.05
    assert small > 0.2 and large > 1.5 * small, (dry, small, large)


def test_reverb_tail_is_kept():
    x = _burst_then_silence(0.3, 0.0)
    y = fx(x, "reverb 0.8")
    assert len(y) > len(x) + SR // 2
    assert rms_db(y[len(x) : len(x) + SR // 4]) > rms_db(x) - 30


def test_delay_puts_an_echo_at_the_delay_time():
    x = np.zeros(SR)
    x[1000] = 1.0
    y = fx(x, "delay 250 ms 0")
    tail = np.abs(y[1000 + 200 :])
    echo_at = (int(np.argmax(tail)) + 200) / SR
    assert echo_at == pytest.approx(0.25, abs=0.001)


def test_compressor_shrinks_the_dynamic_range():
    # Alternating loud (-6 dBFS) and quiet (-36 dBFS) half-seconds of noise.
    rng = np.random.default_rng(2)
    half = SR // 2
    x = np.concatenate([rng.standard_normal(half) * (0.5 if i % 2 == 0 else 0.0158) for i in range(8)]) * 0.35
    y = fx(x, "compressor -30 6")
    loud = lambda s: rms_db(s[int(0.2 * SR) : half])
    before = loud(x[:half]) - loud(x[half : 2 * half])
    after = loud(y[2 * half : 3 * half]) - loud(y[3 * half : 4 * half])
    print(f"MEASURED compressor -30 6: loud/quiet difference {before:.1f} dB -> {after:.1f} dB")
    assert before == pytest.approx(30, abs=0.5)
    assert after < before - 15, (before, after)
    # A slowly swelling and fading sound (a 2 Hz, 24 dB-deep envelope): the spread of its 10 ms
    # envelope (90th - 10th percentile) shrinks.
    t = np.arange(2 * SR) / SR
    swell = rng.standard_normal(2 * SR) * 10 ** (-12 * (1 + np.sin(2 * np.pi * 2 * t)) / 20) * 0.3
    assert (
        envelope_depth_db(
            fx(
                swell,
                "compressor -30 6",
            ),
            SR,
        )
        < envelope_depth_db(swell, SR) - 8
    )


def test_limiter_keeps_the_true_peak_under_the_ceiling():
    x = harmonic_tone(997, 2.0, SR) * 4.0 + pink_noise(2 * SR) * 0.3  # peaks near +7 dBFS
    assert true_peak_dbfs(x) > 5
    for ceiling in (-1.0, -3.0):
        y = fx(x, f"limiter {ceiling}")
        print(f"MEASURED limiter {ceiling}: true peak {true_peak_dbfs(x):+.2f} -> {true_peak_dbfs(y):+.2f} dBFS")
        assert true_peak_dbfs(y) <= ceiling + 0.05
        assert rms_db(y) > ceiling - 15  # limited, not just turned down to nothing


def test_distortion_adds_harmonics():
    t = np.arange(SR) / SR
    x = 0.5 * np.sin(2 * np.pi * 441 * t)

    def thd(s):
        spec = np.abs(np.fft.rfft(s[SR // 4 :] * np.hanning(len(s) - SR // 4)))
        f = np.fft.rfftfreq(len(s) - SR // 4, 1 / SR)
        at = lambda h: spec[np.argmin(np.abs(f - 441 * h))]
        return np.sqrt(sum(at(h) ** 2 for h in range(2, 10))) / at(1)

    assert thd(x) < 0.001
    assert thd(fx(x, "distortion 25")) > 0.1


def test_chorus_spreads_a_pure_tone():
    t = np.arange(2 * SR) / SR
    x = 0.5 * np.sin(2 * np.pi * 440 * t)

    def outside(s):  # share of energy further than 2 Hz from 440 Hz
        spec = np.abs(np.fft.rfft(s * np.hanning(len(s)))) ** 2
        f = np.fft.rfftfreq(len(s), 1 / SR)
        return spec[np.abs(f - 440) > 2].sum() / spec.sum()

    assert outside(x) < 1e-4
    assert outside(fx(x, "chorus 2 0.8")[: len(x)]) > 0.01


def test_gate_silences_the_low_floor():
    rng = np.random.default_rng(3)
    x = rng.standard_normal(2 * SR) * 0.001  # a -60 dBFS floor
    x[SR // 2 : SR] += rng.standard_normal(SR // 2) * 0.3
    y = fx(x, "gate -40")
    floor = slice(int(1.5 * SR), 2 * SR)
    assert rms_db(y[floor]) < rms_db(x[floor]) - 10
    assert rms_db(y[int(0.6 * SR) : int(0.9 * SR)]) == pytest.approx(rms_db(x[int(0.6 * SR) : int(0.9 * SR)]), abs=1)


def test_tool_keeps_stereo_and_never_touches_the_input(run_tool, session):
    x = np.stack([harmonic_tone(220, 1.0, SR), harmonic_tone(330, 1.0, SR)], axis=1).astype(np.float32)
    add_input(session, x, SR, name="duo.wav")
    before = (session.workspace / "duo.wav").read_bytes()
    result = run_tool("effects", file="duo.wav", chain="highpass 80, reverb 0.3, limiter -1")
    y, rate = sf.read(result.artifacts[0].path)
    assert rate == SR and y.ndim == 2 and y.shape[1] == 2
    assert true_peak_dbfs(y) <= -0.95
    assert (session.workspace / "duo.wav").read_bytes() == before
    assert "signal processing" in result.summary


def test_plugins_outside_the_allowed_folders_are_refused(run_tool, session, tmp_path):
    add_input(session, np.zeros(SR, np.float32), SR, name="a.wav")
    outside = tmp_path / "elsewhere" / "Evil.vst3"
    outside.mkdir(parents=True)
    with pytest.raises(PathRefused, match="outside the allowed folders"):
        run_tool("effects", file="a.wav", chain="vst3", vst3_path=str(outside))
    with pytest.raises(PathRefused):
        run_tool("effects", file="a.wav", chain="reverb", vst3_path="../../etc/Evil.vst3")
    (session.workspace / "notes.txt").write_text("hi")
    with pytest.raises(EarshotError, match="not a VST3 plugin"):
        run_tool("effects", file="a.wav", chain="vst3", vst3_path="notes.txt")
    fake = session.workspace / "Fake.vst3"
    fake.mkdir()
    with pytest.raises(EarshotError, match="could not load the VST3 plugin Fake.vst3"):
        run_tool("effects", file="a.wav", chain="vst3", vst3_path="Fake.vst3")
    with pytest.raises(EarshotError, match="no plugin path"):
        run_tool("effects", file="a.wav", chain="reverb, vst3")
    with pytest.raises(EarshotError, match="no plugin at"):
        run_tool("effects", file="a.wav", chain="vst3", vst3_path="Missing.vst3")
    # an invented path for a built-in effect is ignored, and the reply says so
    result = run_tool("effects", file="a.wav", chain="reverb", vst3_path="Reverb.vst3")
    assert "no plugin at 'Reverb.vst3', so none was used" in result.summary
