"""generate_sound: every preset has its own spectral signature, and a layered request contains each layer.

Classifier-free: a signature is seven hand-made measurements (synth_signals.signature — centroid,
flatness around the centroid, envelope depth, modulation rate and prominence, crest factor, centroid
trend), computed by code that shares nothing with the synthesisers."""

from __future__ import annotations

import numpy as np
import pytest
from synth_signals import band_energy_fraction, modulation_peak_hz, signature, signature_vector

from assistant.synth import presets as gs

pytestmark = pytest.mark.integration

SR = 48_000
DURATION_S = 8.0


@pytest.fixture(scope="module")
def signatures():
    """Two independent takes (seeds 1 and 2) of every preset."""
    out = {}
    for seed in (1, 2):
        out[seed] = {name: signature(gs.render([name], DURATION_S, SR, seed=seed), SR) for name in gs.PRESETS}
    return out


def _distance(a: dict, b: dict) -> float:
    return float(np.max(np.abs(signature_vector(a) - signature_vector(b))))


def test_render_contract():
    y = gs.render(["rain", "thunder"], 2.5, SR, seed=3)
    assert y.dtype == np.float32 and y.shape == (int(2.5 * SR), 2)
    assert 20 * np.log10(np.max(np.abs(y))) == pytest.approx(-1.0, abs=0.01)
    assert np.array_equal(y, gs.render(["rain", "thunder"], 2.5, SR, seed=3))  # deterministic
    assert not np.allclose(y, gs.render(["rain", "thunder"], 2.5, SR, seed=4))  # a seed is a new take
    for rate in (16_000, 44_100):
        z = gs.render(["birds"], 1.0, rate)
        assert z.shape == (rate, 2) and np.all(np.isfinite(z))
    assert set(gs.PRESETS) == set(gs.Preset.__args__)
    assert all(isinstance(v, str) and 0 < len(v) < 80 for v in gs.PRESETS.values())


def test_each_preset_is_recognised_from_its_signature_across_takes(signatures):
    """Nearest-neighbour on the signatures: take 2 of every preset is closer to take 1 of itself than
    to take 1 of any other preset, with a margin."""
    names = list(gs.PRESETS)
    for name in names:
        own = _distance(signatures[2][name], signatures[1][name])
        nearest_other = min(_distance(signatures[2][name], signatures[1][o]) for o in names if o != name)
        assert own < nearest_other - 0.25, (name, own, nearest_other)


def test_presets_are_pairwise_distinct(signatures):
    names = list(gs.PRESETS)
    closest = min(
        (_distance(signatures[1][a], signatures[1][b]), a, b) for i, a in enumerate(names) for b in names[i + 1 :]
    )
    assert closest[0] >= 0.9, closest


# Physical facts each preset must show (ranges, not a fit to the synthesiser's own numbers).
EXPECTED = {
    "thunder": {"centroid_hz": (60, 400)},
    "heartbeat": {"centroid_hz": (30, 120), "mod_hz": (0.9, 3.2)},
    "engine": {"centroid_hz": (80, 400), "crest_db": (0, 10)},
    "wind": {"centroid_hz": (250, 1000), "flatness": (0.01, 1)},
    "crowd": {"centroid_hz": (300, 1200), "flatness": (0.05, 1)},
    "rain": {"centroid_hz": (2500, 8000), "flatness": (0.05, 1)},
    "birds": {"centroid_hz": (2000, 7000), "flatness": (0, 0.001)},
    "beeps": {"centroid_hz": (950, 1050), "flatness": (0, 0.001), "mod_hz": (1.8, 3.2)},
    "siren": {"centroid_hz": (700, 2000), "flatness": (0, 0.001), "depth_db": (0, 3)},
    "clock": {"centroid_hz": (1500, 4000), "mod_hz": (1.9, 4.1), "crest_db": (25, 60)},
    "footsteps": {"mod_hz": (1.6, 3.4), "crest_db": (18, 60)},
    "fire": {"crest_db": (25, 60)},
    "riser": {"trend_oct": (2.0, 6.0)},
    "sea_waves": {"mod_hz": (0.05, 0.5), "depth_db": (10, 40), "flatness": (0.05, 1)},
    "lion_roar": {"centroid_hz": (400, 1200)},
    "race_car": {"centroid_hz": (800, 3000), "flatness": (0, 0.05)},
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_signature_ranges(signatures, name):
    sig = signatures[1][name]
    for key, (lo, hi) in EXPECTED[name].items():
        assert lo <= sig[key] <= hi, (name, key, sig[key])


def test_intensity_speeds_up_footsteps():
    slow, _ = modulation_peak_hz(gs.render(["footsteps"], 8.0, SR, intensity=0.0).mean(axis=1), SR)
    fast, _ = modulation_peak_hz(gs.render(["footsteps"], 8.0, SR, intensity=1.0).mean(axis=1), SR)
    assert slow == pytest.approx(1.7, abs=0.15) and fast == pytest.approx(3.3, abs=0.25)


THIRD_OCTAVES = [(f / 2 ** (1 / 6), f * 2 ** (1 / 6)) for f in 31.25 * 2.0 ** (np.arange(30) / 3)]


def _band_fractions(x: np.ndarray) -> np.ndarray:
    mono = x.mean(axis=1)
    return np.array([band_energy_fraction(mono, SR, lo, hi) for lo, hi in THIRD_OCTAVES])


@pytest.mark.parametrize(
    "layers",
    [
        ("lion_roar", "race_car"),
        ("rain", "thunder"),
        ("birds", "engine"),
        ("crowd", "beeps"),
        ("wind", "clock"),
        ("sea_waves", "birds", "footsteps"),
    ],
)
def test_layered_mix_contains_each_layer(layers):
    """The mix's third-octave spectrum is explained as a non-negative blend of the layers' spectra
    (each rendered alone), and every layer holds at least half the energy share it should have — a
    layer that went missing would get ~0. Expected shares: 1, 0.4, 0.16 (each layer 4 dB behind the
    last; levels matched on the loud half of the sound), normalised."""
    from scipy.optimize import nnls

    mix = gs.render(list(layers), DURATION_S, SR, seed=5)
    basis = np.stack([_band_fractions(gs.render([name], DURATION_S, SR, seed=5)) for name in layers], axis=1)
    target = _band_fractions(mix)
    shares, residual = nnls(basis, target)
    shares = shares / shares.sum()
    assert residual / np.linalg.norm(target) < 0.15, (layers, residual)
    expected = 10 ** (gs.LAYER_STEP_DB * np.arange(len(layers)) / 10)
    expected /= expected.sum()
    for name, share, want in zip(layers, shares, expected):
        assert share >= 0.5 * want, (layers, name, shares)


def test_footsteps_keep_their_rhythm_under_wind():
    mix = gs.render(["footsteps", "wind"], DURATION_S, SR, seed=2).mean(axis=1)
    from scipy import signal

    band = signal.sosfilt(signal.butter(4, [1200, 4000], "bandpass", fs=SR, output="sos"), mix)
    rate, prominence = modulation_peak_hz(band, SR)
    assert rate == pytest.approx(2.5, abs=0.3) and prominence >= 15


def test_tool_writes_stereo_48k_and_says_it_is_signal_processing(run_tool):
    import soundfile as sf

    result = run_tool("generate_sound", layers=["lion_roar", "race_car"], duration_s=3.0)
    art = result.artifacts[0]
    data, rate = sf.read(art.path, dtype="float32")
    assert rate == 48_000 and data.shape == (3 * 48_000, 2)
    assert "signal processing" in result.summary
    assert np.allclose(data, gs.render(["lion_roar", "race_car"], 3.0, 48_000, seed=0), atol=1e-6)
