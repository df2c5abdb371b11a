"""`scripts/export_models.py --check` decides as its manifest and the README say, shown on files made here
from the committed exports (no torch needed: ONNX Runtime runs both files of every pair).

The committed bytes depend on the generator versions in onnx_exports/manifest.json and not on the CPU
(test_onnx_parity.py rebuilds them on this machine, also with other kernels). A rebuild elsewhere is
simulated: a copy of onnx_exports/ whose manifest says it was made on a CPU unlike this one, with one file
changed in the last bit of its weights, as other library versions might leave it.

  other versions  → a file within its tolerance is "equivalent" and the check passes;
  same versions   → every file must be identical, whatever CPU either was made on;
  any versions    → a file whose outputs differ beyond its tolerance fails.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.integration

onnx = pytest.importorskip("onnx", reason="onnx is needed to rewrite a model file (`pip install onnx`)")

ROOT = Path(__file__).resolve().parents[2]
EXPORTS = ROOT / "onnx_exports"
MANIFEST = json.loads((EXPORTS / "manifest.json").read_text())


def _export_script():
    if "export_models" in sys.modules:
        return sys.modules["export_models"]
    spec = importlib.util.spec_from_file_location("export_models", ROOT / "scripts" / "export_models.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["export_models"] = module
    spec.loader.exec_module(module)
    return module


em = _export_script()


def another_cpu() -> dict:
    """A CPU unlike the one running the test and unlike the one the committed exports were measured on,
    whichever those are (an AMD machine running exports measured on an Intel one needs a third)."""
    here = em.cpu_description()
    candidates = (
        {"vendor": "AuthenticAMD", "model": "AMD EPYC 7B13 64-Core Processor", "isa": "x86-64-v3"},
        {"vendor": "GenuineIntel", "model": "Intel(R) Xeon(R) Processor", "isa": "x86-64-v4"},
        {"vendor": "GenuineIntel", "model": "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz", "isa": "x86-64-v3"},
    )
    return next(c for c in candidates if c["model"] != here["model"] and c != MANIFEST["measured_on"])


def flip_last_bits(path: Path, every: int = 3) -> None:
    """Flip the lowest mantissa bit of every `every`-th weight of every float tensor: one ulp, the kind of
    difference another BLAS or another fold order leaves."""
    from onnx import numpy_helper

    model = onnx.load(str(path))
    for i, t in enumerate(model.graph.initializer):
        if t.data_type != onnx.TensorProto.FLOAT:
            continue
        a = numpy_helper.to_array(t).copy()
        bits = a.reshape(-1).view(np.uint32)
        bits[::every] ^= 1
        model.graph.initializer[i].CopyFrom(numpy_helper.from_array(a, t.name))
    onnx.save(model, str(path))


def nudge_output(path: Path, amount: float) -> None:
    """Add `amount` to the classifier's bias: a difference far beyond the last bits."""
    from onnx import numpy_helper

    model = onnx.load(str(path))
    (gemm,) = [n for n in model.graph.node if n.op_type == "Gemm"]
    for i, t in enumerate(model.graph.initializer):
        if t.name == gemm.input[2]:
            model.graph.initializer[i].CopyFrom(
                numpy_helper.from_array(numpy_helper.to_array(t) + np.float32(amount), t.name)
            )
    onnx.save(model, str(path))


def rebuilt_elsewhere(tmp_path: Path, change=None, versions: dict | None = None) -> Path:
    """A copy of onnx_exports/ as a rebuild on another CPU would leave it: `change` applied to the
    EfficientNet file (its manifest entry updated), the manifest's generator versions replaced by
    `versions` (the committed ones when None) and `measured_on` set to a CPU unlike this one."""
    fresh = tmp_path / "rebuilt"
    shutil.copytree(EXPORTS, fresh)
    manifest = json.loads((fresh / "manifest.json").read_text())
    if change is not None:
        entry = manifest["models"]["efficientnet-lite0"]
        change(fresh / entry["file"])
        entry["sha256"] = em.sha256_of(fresh / entry["file"])
        entry["bytes"] = (fresh / entry["file"]).stat().st_size
    if versions is not None:
        manifest["generator"] = versions
    manifest["measured_on"] = another_cpu()
    (fresh / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return fresh


def other_versions() -> dict:
    versions = dict(MANIFEST["generator"])
    versions["onnxruntime"] = versions.get("onnxruntime", "") + ".other"
    return versions


def test_committed_manifest_says_what_the_bytes_depend_on():
    assert set(MANIFEST["generator"]) >= {"python", "torch", "onnx", "onnxruntime", "numpy"}
    assert {"vendor", "model", "isa"} <= set(MANIFEST["measured_on"])
    assert "not on the CPU" in MANIFEST["about"]
    for entry in MANIFEST["models"].values():
        assert "folded into Conv in float64 numpy" in entry.get("exporter", em.EXPORTER)


def test_last_bit_differences_from_other_versions_are_equivalent(tmp_path, capsys):
    fresh = rebuilt_elsewhere(tmp_path, flip_last_bits, other_versions())
    assert em.sha256_of(fresh / "efficientnet-lite0.onnx") != MANIFEST["models"]["efficientnet-lite0"]["sha256"]
    report = em.compare(EXPORTS, fresh)
    with capsys.disabled():
        print(
            f"\n  [export check] another CPU ({report['measured_on_now']['model']}), other versions, last bits "
            f"flipped: equivalent {report['equivalent']}; identical {report['identical']}"
        )
    assert report["ok"] and not report["bytes_must_match"], report["failed"]
    (row,) = report["equivalent"]
    assert row["name"] == "efficientnet-lite0"
    assert 0 < row["max_abs_difference"] <= row["tolerance"]  # measured on both files, and not nothing
    assert set(report["identical"]) == set(MANIFEST["models"]) - {"efficientnet-lite0"} | set(MANIFEST["files"])
    assert report["measured_on_now"] != report["measured_on_committed"]


def test_same_versions_need_identical_bytes_on_any_cpu(tmp_path):
    same = rebuilt_elsewhere(tmp_path / "a")  # another CPU, same versions, same bytes
    report = em.compare(EXPORTS, same)
    assert report["bytes_must_match"] and report["ok"], report["failed"]
    assert report["measured_on_now"] != report["measured_on_committed"]

    flipped = rebuilt_elsewhere(tmp_path / "b", flip_last_bits)  # another CPU, same versions, last bits
    report = em.compare(EXPORTS, flipped)
    assert not report["ok"]
    (row,) = report["failed"]
    assert row["name"] == "efficientnet-lite0" and "same generator versions" in row["why"]
    assert 0 < row["max_abs_difference"] <= row["tolerance"]  # within tolerance, and still refused


def test_outputs_beyond_tolerance_fail_whatever_the_versions(tmp_path):
    fresh = rebuilt_elsewhere(tmp_path, lambda p: nudge_output(p, 0.01), other_versions())
    report = em.compare(EXPORTS, fresh)
    assert not report["ok"]
    (row,) = report["failed"]
    assert row["name"] == "efficientnet-lite0" and "beyond the tolerance" in row["why"]
    assert row["max_abs_difference"] == pytest.approx(0.01, rel=0.01)  # the bias moves every logit by it


def test_cpu_description_and_x86_64_levels(tmp_path):
    cpu = em.cpu_description()
    assert cpu["vendor"] and cpu["model"] and cpu["isa"]
    base = "fpu sse sse2"
    v2 = base + " cx16 lahf_lm popcnt sse4_1 sse4_2 ssse3"
    v3 = v2 + " avx avx2 bmi1 bmi2 f16c fma abm movbe xsave"
    v4 = v3 + " avx512f avx512bw avx512cd avx512dq avx512vl"
    for flags, level in (
        (base, "x86-64"),
        (v2, "x86-64-v2"),
        (v3, "x86-64-v3"),
        (v4, "x86-64-v4"),
        (v2 + " avx512f avx512bw avx512cd avx512dq avx512vl", "x86-64-v2"),
    ):
        info = tmp_path / "cpuinfo"
        info.write_text(
            f"processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: Test CPU\nflags\t\t: {flags}\n\n"
            f"processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: Test CPU\nflags\t\t: {flags}\n"
        )
        assert em.cpu_description(info) == {"vendor": "AuthenticAMD", "model": "Test CPU", "isa": level}
