"""denoise: DeepFilterNet3 raises SI-SDR of speech mixed with white noise at 0 dB, keeps the length,
and never touches its input."""

import numpy as np
import pytest
import soundfile as sf

from assistant.audio.files import resample
from tests.conftest import add_input, espeak, require_models, si_sdr

pytestmark = pytest.mark.integration


def speech_16k(tmp_path) -> np.ndarray:
    path = espeak(
        "Please send the final mix to the mastering engineer before Friday afternoon.", tmp_path / "clean.wav"
    )
    audio, rate = sf.read(path, dtype="float32")
    return resample(audio, rate, 16000)


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    noise = noise[: len(clean)]
    gain = np.sqrt(np.sum(clean**2) / (np.sum(noise**2) * 10 ** (snr_db / 10)))
    return (clean + gain * noise).astype(np.float32)


@pytest.mark.parametrize("strength,min_gain_db", [(1.0, 6.0), (0.5, 3.0)])
def test_denoise_raises_si_sdr_at_0_db_snr(run_tool, session, tmp_path, strength, min_gain_db):
    require_models("deepfilternet3")
    clean = speech_16k(tmp_path)
    noise = np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    noisy = mix_at_snr(clean, noise, 0.0)
    original = add_input(session, noisy, 16000, "noisy.wav")
    before_bytes = original.path.read_bytes()

    result = run_tool("denoise", file="noisy.wav", strength=strength)

    out = result.artifacts[0]
    cleaned, rate = sf.read(out.path, dtype="float32")
    assert rate == 16000 and len(cleaned) == len(noisy)
    gain = si_sdr(clean, cleaned) - si_sdr(clean, noisy)
    assert gain >= min_gain_db, gain
    assert original.path.read_bytes() == before_bytes  # input untouched
    assert out.parents == (original.ref,) and out.tool == "denoise"


def test_stronger_denoise_removes_more_noise(run_tool, session, tmp_path):
    """strength is monotonic: in a noise-only stretch, 1.0 leaves less energy than 0.3."""
    require_models("deepfilternet3")
    noise = 0.05 * np.random.default_rng(1).standard_normal(16000 * 3).astype(np.float32)
    add_input(session, noise, 16000, "hiss.wav")
    levels = {}
    for strength in (0.3, 1.0):
        out = run_tool("denoise", file="hiss.wav", strength=strength).artifacts[0]
        y, _ = sf.read(out.path, dtype="float32")
        levels[strength] = float(np.sqrt(np.mean(y[8000:] ** 2)))
    assert levels[1.0] < levels[0.3] < float(np.sqrt(np.mean(noise**2)))
