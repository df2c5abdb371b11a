"""`earshot bench models`: the report has a row per model, provider and input, with consistent RTF and
ratio figures and the torch baseline when torch is installed. No timing is asserted (benchmarks print
figures; tests check the machinery)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REAL_MODELS_DIR

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_bench_models_json_without_torch_baseline(tmp_path):
    # A fresh Earshot home asking for the CPU provider: neither the user's config.toml nor a GPU on the
    # machine decides the row (the shared model store is used as every test uses it).
    (tmp_path / "config.toml").write_text('[accelerator]\nonnx_providers = "cpu"\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EARSHOT_HOME": str(tmp_path), "EARSHOT_MODELS": str(REAL_MODELS_DIR)}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "assistant",
            "bench",
            "models",
            "--json",
            "--quick",
            "--no-torch",
            "--model",
            "crepe-tiny",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    (row,) = result["rows"]
    assert row["model"] == "crepe-tiny" and row["provider"] == "CPUExecutionProvider"
    assert row["audio_s"] == 1.0 and row["onnx_rtf"] == pytest.approx(row["onnx_ms"] / 1000, rel=1e-2)
    assert row["torch_ms"] is None and result["summary"]["torch_baseline"] is False
    assert "export extra" in result["summary"]["note"]


def test_bench_models_measures_torch_in_the_same_run(config):
    pytest.importorskip("torch", reason="the torch baseline needs the export extra (./install.sh --export)")
    from assistant.bench.models_bench import run_models_bench

    result = run_models_bench(config, quick=True, repeats=3, models=["efficientnet-lite0", "crepe-tiny"])
    rows = {r["model"]: r for r in result["rows"]}
    for name in ("efficientnet-lite0", "crepe-tiny"):
        r = rows[name]
        assert r["calls"] >= 3 and r["torch_ms"] > 0 and r["onnx_ms"] > 0
        assert r["speedup"] == pytest.approx(r["torch_ms"] / r["onnx_ms"], rel=1e-2)
    assert rows["efficientnet-lite0"]["onnx_rtf"] is None  # an image has no duration
    assert set(result["summary"]["min_speedup_cpu_by_model"]) == {"efficientnet-lite0", "crepe-tiny"}
    assert result["machine"]["threads"] >= 1 and result["machine"]["torch"]
