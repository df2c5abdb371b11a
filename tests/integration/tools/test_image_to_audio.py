"""image_to_audio: photos shipped in scikit-image → EfficientNet-Lite0 labels → the preset the mapping
table names → a sound that is that preset: the tool's audio matches generate_sound's render of the chosen
layers, and its spectral signature is nearer to that preset than to any other."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.audio_models import image_to_audio as i2a
from assistant.errors import EarshotError
from assistant.vision import sound_mapping as mapping
from assistant.vision.image_labels import classify

pytestmark = pytest.mark.integration
data = pytest.importorskip("skimage.data", reason="scikit-image ships the test photos (test extra)")
from assistant.synth import presets as gs  # noqa: E402

SR = i2a.SAMPLE_RATE_HZ
DURATION_S = 4.0
PHOTOS = {
    # photo: the layers its labels must lead to
    "motorcycle": ("engine",),  # moped, motor scooter
    "coffee": ("crowd",),  # espresso: a café
    "rocket": ("riser",),  # missile, projectile, space shuttle
    "chelsea": (mapping.FALLBACK_PRESET,),  # a house cat: no preset of its own, the ambience stands in
}


def photo(name: str) -> np.ndarray:
    return data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()


def signature(audio: np.ndarray) -> np.ndarray:
    """Log band energies (1/3 octave, 50 Hz–16 kHz) of the mono mix, normalised: a classifier-free
    description of how a sound is spread over frequency."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1 / SR)
    edges = 50 * 2 ** (np.arange(0, 29) / 3)
    bands = np.array([spectrum[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges[:-1], edges[1:])])
    bands = 10 * np.log10(bands / bands.sum() + 1e-12)
    return bands - bands.mean()


@pytest.mark.parametrize("name", sorted(PHOTOS))
def test_photo_becomes_the_mapped_preset(name, run_tool, session, config, capsys):
    from PIL import Image

    from tests.conftest import add_input  # noqa: F401  (session fixture registers files itself)

    Image.fromarray(photo(name)).save(session.workspace / f"{name}.jpg", quality=92)
    result = run_tool("image_to_audio", file=f"{name}.jpg", duration_s=DURATION_S)
    layers = tuple(result.data["layers"])
    labels = classify(photo(name), config, top_k=mapping.TOP_K)
    with capsys.disabled():
        print(f"\n  [image_to_audio] {name}: {', '.join(lab.name for lab in labels[:3])} → {' + '.join(layers)}")
    assert layers == PHOTOS[name]
    assert layers == mapping.choose_layers(labels).layers  # the tool follows the table, nothing else
    assert ("learned" in result.summary) and ("signal processing" in result.summary)

    import soundfile as sf

    (art,) = result.artifacts
    audio, rate = sf.read(art.path, dtype="float32", always_2d=True)
    assert rate == SR and audio.shape[1] == 2 and abs(len(audio) / SR - DURATION_S) < 0.01
    reference = gs.render(list(layers), DURATION_S, sample_rate_hz=SR, seed=0)
    n = min(len(audio), len(reference))
    err = audio[:n] - reference[:n]
    snr_db = 10 * np.log10(np.sum(reference[:n] ** 2) / max(np.sum(err**2), 1e-20))
    assert snr_db >= 30.0  # the file is that render (up to the WAV encoding)
    # …and it sounds like its preset: nearest by spectral signature among every preset (another take).
    mine = signature(audio)
    distances = {p: float(np.linalg.norm(mine - signature(gs.render([p], DURATION_S, SR, seed=7)))) for p in gs.PRESETS}
    assert min(distances, key=distances.get) == layers[0], sorted(distances.items(), key=lambda kv: kv[1])[:3]


def test_a_non_image_is_refused(run_tool, session):
    (session.workspace / "notes.txt").write_text("hello")
    with pytest.raises(EarshotError, match="is not an image"):
        run_tool("image_to_audio", file="notes.txt")
