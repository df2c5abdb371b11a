"""image_to_audio: a picture → a fitting sound.

Two stages, each said in the reply: EfficientNet-Lite0 (learned, exported to ONNX) names what the
picture shows as ImageNet classes; a fixed table maps those classes to the procedural presets of
`generate_sound` (signal processing), which renders the sound. The top five labels vote with their
probabilities; a second preset is layered in when it gets at least 40 % of the winner's vote.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import EarshotError
from ..store.session import Artifact
from ..synth.presets import render
from ..vision.image_labels import IMAGE_SUFFIXES, classify, load_image
from ..vision.sound_mapping import TOP_K, choose_layers
from .base import ToolContext, ToolResult, ToolSpec, stem_of

SAMPLE_RATE_HZ = 48_000


@dataclass
class Args:
    file: Artifact
    duration_s: float = field(default=6.0, metadata={"min": 1.0, "max": 30.0, "doc": "length of the sound"})


SPEC = ToolSpec(
    name="image_to_audio",
    doing="making a sound for {file}",
    summary="make a sound that fits a picture or photo",
    examples=(
        "make a sound for photo.jpg",
        "what would this picture sound like? beach.png",
        "turn the image street.jpg into audio",
    ),
    method="EfficientNet-Lite0 image labels (learned; ONNX) → generate_sound presets (procedural synthesis, "
    "signal processing)",
    licence="Apache-2.0 (EfficientNet-Lite0 weights); MIT (ImageNet class names)",
    timeout_s=120,
    max_memory_mb=1024,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    path = Path(args.file.path)
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise EarshotError(
            f"{args.file.name} is not an image ({path.suffix or 'no suffix'})",
            "give a PNG, JPEG, BMP, GIF, WebP or TIFF file",
        )
    ctx.progress(0.05, "looking at the picture")
    labels = classify(load_image(path), ctx.config, top_k=TOP_K)
    choice = choose_layers(labels)
    ctx.progress(0.3, "synthesising " + " + ".join(choice.layers))
    audio = render(list(choice.layers), args.duration_s, sample_rate_hz=SAMPLE_RATE_HZ, seed=0)
    art = ctx.new_audio_artifact(
        audio,
        SAMPLE_RATE_HZ,
        f"{stem_of(args.file)}-sound",
        parents=[args.file],
        meta={"labels": [lab.name for lab in labels], "layers": list(choice.layers)},
    )
    seen = ", ".join(f"{lab.name} ({lab.probability:.0%})" for lab in labels[:3])
    sound = " + ".join(p.replace("_", " ") for p in choice.layers)
    why = "nothing it shows has a sound preset, so an ambience stands in" if choice.fallback else f"so: {sound}"
    summary = (
        f"{args.file.name} looks like {seen} (EfficientNet-Lite0, learned); {why} — synthesised by "
        f"generate_sound (signal processing) → {art.name} ({args.duration_s:g} s)."
    )
    data = {
        "labels": [{"name": lab.name, "index": lab.index, "probability": lab.probability} for lab in labels],
        "layers": list(choice.layers),
        "votes": choice.votes,
        "fallback": choice.fallback,
    }
    return ToolResult(summary, [art], data)
