"""EfficientNet-Lite0 (exported ONNX) names what photos shipped in scikit-image show: top-1 labels on
real photos, stable under a change of size and colour, with a clear error for a file that is no image."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import EarshotError
from assistant.vision.image_labels import classify, load_image

pytestmark = pytest.mark.integration
data = pytest.importorskip("skimage.data", reason="scikit-image ships the test photos (test extra)")

# Photo → acceptable top-1 ImageNet classes (indices): the class and its close siblings.
EXPECTED = {
    "coffee": {967: "espresso", 968: "cup", 504: "coffee mug"},
    "motorcycle": {665: "moped", 670: "motor scooter"},
    "chelsea": {281: "tabby", 282: "tiger cat", 285: "Egyptian cat"},
    "rocket": {657: "missile", 744: "projectile", 812: "space shuttle"},
    "camera": {872: "tripod", 759: "reflex camera"},
}


def photo(name: str) -> np.ndarray:
    return data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_top1_label_of_a_real_photo(name, config, capsys):
    labels = classify(photo(name), config, top_k=5)
    with capsys.disabled():
        print(f"\n  [labels] {name}: " + ", ".join(f"{lab.name} {lab.probability:.0%}" for lab in labels[:3]))
    assert labels[0].index in EXPECTED[name]
    probs = [lab.probability for lab in labels]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001


def test_labels_survive_resizing_and_greyscale(config):
    from PIL import Image

    img = data.coffee()
    small = np.asarray(Image.fromarray(img).resize((img.shape[1] // 2, img.shape[0] // 2), Image.BILINEAR))
    grey = np.asarray(Image.fromarray(img).convert("L"))
    top = classify(img, config, 1)[0].index
    assert classify(small, config, 1)[0].index == top
    assert classify(grey, config, 3)[0].index in EXPECTED["coffee"]


def test_image_files_decode_and_a_non_image_is_refused(tmp_path, config):
    from PIL import Image

    Image.fromarray(data.rocket()).save(tmp_path / "rocket.jpg", quality=90)
    assert classify(load_image(tmp_path / "rocket.jpg"), config, 1)[0].index in EXPECTED["rocket"]
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(EarshotError, match="notes.png is not a readable image"):
        load_image(tmp_path / "notes.png")
