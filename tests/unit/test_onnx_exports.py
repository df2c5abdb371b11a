"""The committed ONNX exports: the manifest says what the issue asks for, every file matches its sha256,
a damaged file is refused with the fix, sessions are cached, dynamic axes accept any length. No torch."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from assistant.config import AcceleratorOptions, EarshotConfig, PathOptions
from assistant.errors import ModelMissing
from assistant.runtime import onnx

MANIFEST = json.loads((onnx.default_exports_dir() / "manifest.json").read_text())


def config_with_exports(tmp_path, folder, **accel) -> EarshotConfig:
    return EarshotConfig(
        paths=PathOptions(home_dir=tmp_path, models_dir=tmp_path / "models"),
        accelerator=AcceleratorOptions(exports_dir=folder, **accel),
    )


@pytest.mark.parametrize("name", sorted(MANIFEST["models"]))
def test_manifest_entry_is_complete_and_the_file_matches(name):
    entry = MANIFEST["models"][name]
    for key in (
        "file",
        "sha256",
        "bytes",
        "source",
        "opset",
        "inputs",
        "outputs",
        "max_abs_error_vs_torch",
        "tolerance",
    ):
        assert key in entry, key
    assert entry["source"]["package"] and entry["source"]["version"] and entry["source"]["licence"]
    assert entry["max_abs_error_vs_torch"] <= entry["tolerance"]
    assert all(i["shape"] and i["dtype"] == "float32" for i in entry["inputs"] + entry["outputs"])
    path = onnx.default_exports_dir() / entry["file"]
    assert path.stat().st_size == entry["bytes"]
    assert onnx.sha256_of(path) == entry["sha256"]
    assert entry["bytes"] < 25_000_000  # exported files are committed: keep them small


def test_variable_length_inputs_have_dynamic_axes():
    crepe = MANIFEST["models"]["crepe-tiny"]
    assert crepe["inputs"][0]["shape"] == ["frames", 1024]
    assert crepe["outputs"][0]["shape"] == ["frames", 360]
    assert MANIFEST["models"]["efficientnet-lite0"]["inputs"][0]["shape"] == ["batch", 3, 224, 224]


def test_quantisation_decisions_are_recorded():
    for name in ("crepe-tiny", "efficientnet-lite0"):
        q = MANIFEST["models"][name]["int8"]
        assert {"metric", "rule", "holds", "max_abs_error_vs_torch", "shipped_as"} <= set(q)
        assert (q["shipped_as"] is not None) == q["holds"]
        if q["holds"]:
            assert q["shipped_as"] in MANIFEST["models"]


def test_a_damaged_file_is_refused_with_the_fix(tmp_path):
    folder = tmp_path / "exports"
    shutil.copytree(onnx.default_exports_dir(), folder)
    path = folder / MANIFEST["models"]["crepe-tiny"]["file"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    config = config_with_exports(tmp_path, folder)
    with pytest.raises(ModelMissing, match="is corrupt") as err:
        onnx.exported_model("crepe-tiny", config)
    assert "export_models.py" in err.value.hint
    assert not onnx.exported_available("crepe-tiny", config)
    path.unlink()
    with pytest.raises(ModelMissing, match="is missing"):
        onnx.exported_model("crepe-tiny", config)
    with pytest.raises(ModelMissing, match="no exported ONNX model 'nope'"):
        onnx.exported_model("nope", config)


def test_one_cached_session_per_model(tmp_path):
    # CPU by request: on a GPU machine "auto" would rightly pick CUDA.
    config = config_with_exports(tmp_path, onnx.default_exports_dir(), onnx_providers="cpu")
    onnx.clear_sessions()
    a = onnx.onnx_model("crepe-tiny", config)
    b = onnx.onnx_model("crepe-tiny", config)
    assert a is b and a.provider == onnx.CPU


@pytest.mark.parametrize("frames", [1, 7, 700])
def test_crepe_accepts_any_number_of_frames(tmp_path, frames):
    model = onnx.onnx_model("crepe-tiny", config_with_exports(tmp_path, onnx.default_exports_dir()))
    x = np.random.default_rng(frames).standard_normal((frames, 1024)).astype(np.float32)
    out = model.run({"frames": x})[0]
    assert out.shape == (frames, 360) and np.all((out >= 0) & (out <= 1))


def test_labels_file_is_verified_and_complete():
    path = onnx.exported_file("imagenet-labels.json")
    labels = json.loads(path.read_text())["labels"]
    assert len(labels) == 1000 and labels[0].startswith("tench") and labels[281].startswith("tabby")
