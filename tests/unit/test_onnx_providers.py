"""Provider choice for ONNX models, with faked provider lists and sessions (no GPU needed or used).

What is checked: the auto order TensorRT → CUDA → CPU over what is installed; falling back when a
provider is installed but does not start (raises, or ONNX Runtime silently falls back); the error and
its fix when config names a provider this onnxruntime lacks; TensorRT's FP16 and engine-cache options;
that no option and no line of code names a device index; thread settings; faster-whisper's device.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.config import AcceleratorOptions, EarshotConfig, PathOptions
from assistant.errors import EarshotError
from assistant.runtime import onnx

TRT, CUDA, CPU = onnx.TENSORRT, onnx.CUDA, onnx.CPU


def make_config(tmp_path, **accel) -> EarshotConfig:
    return EarshotConfig(
        paths=PathOptions(home_dir=tmp_path, models_dir=tmp_path / "models"), accelerator=AcceleratorOptions(**accel)
    )


class FakeSession:
    def __init__(self, providers):
        self._providers = providers

    def get_providers(self):
        return list(self._providers)


class FakeOrt:
    """A factory standing in for InferenceSession: each provider either starts, raises, or is silently
    skipped by ONNX Runtime (what a CUDA build without the CUDA libraries does)."""

    def __init__(self, broken=(), silent=()):
        self.broken, self.silent, self.calls = set(broken), set(silent), []

    def __call__(self, path, so, providers, options):
        self.calls.append((list(providers), options))
        if providers[0] in self.broken:
            raise RuntimeError(f"{providers[0]}: libnvinfer.so.10: cannot open shared object file")
        running = [p for p in providers if p not in self.silent]
        return FakeSession(running)


@pytest.mark.parametrize(
    "available, expected",
    [
        ([CPU], [[CPU]]),
        (["AzureExecutionProvider", CPU], [[CPU]]),
        ([CUDA, CPU], [[CUDA, CPU], [CPU]]),
        ([TRT, CUDA, CPU], [[TRT, CUDA, CPU], [CUDA, CPU], [CPU]]),
        ([CPU, CUDA, TRT], [[TRT, CUDA, CPU], [CUDA, CPU], [CPU]]),  # our order, not the build's
    ],
)
def test_auto_order_is_tensorrt_cuda_cpu_over_what_is_installed(available, expected):
    assert onnx.candidate_chains("auto", available) == expected


def test_auto_takes_tensorrt_when_it_starts(tmp_path):
    fake = FakeOrt()
    session, provider, notes = onnx.create_session(Path("m.onnx"), make_config(tmp_path), [TRT, CUDA, CPU], fake)
    assert provider == TRT and notes == ()
    assert fake.calls[0][0] == [TRT, CUDA, CPU]


def test_auto_falls_back_to_cuda_when_tensorrt_cannot_start(tmp_path):
    fake = FakeOrt(broken={TRT})
    _, provider, notes = onnx.create_session(Path("m.onnx"), make_config(tmp_path), [TRT, CUDA, CPU], fake)
    assert provider == CUDA
    assert [c[0] for c in fake.calls] == [[TRT, CUDA, CPU], [CUDA, CPU]]
    assert "TensorrtExecutionProvider did not start" in notes[0] and "libnvinfer" in notes[0]


def test_auto_detects_a_silent_fallback_to_the_cpu(tmp_path):
    # onnxruntime-gpu on a machine without CUDA libraries lists CUDA but runs the graph on the CPU.
    fake = FakeOrt(silent={CUDA})
    _, provider, notes = onnx.create_session(Path("m.onnx"), make_config(tmp_path), [CUDA, CPU], fake)
    assert provider == CPU
    assert notes == ("CUDAExecutionProvider installed but did not start; running on CPUExecutionProvider",)


def test_auto_reports_every_provider_passed_over(tmp_path):
    # What onnxruntime-gpu does on a machine without CUDA (seen with 1.31.1): it lists TensorRT and CUDA,
    # logs that their libraries are missing, and runs the session on the CPU.
    _, provider, notes = onnx.create_session(
        Path("m.onnx"), make_config(tmp_path), [TRT, CUDA, CPU], FakeOrt(silent={TRT, CUDA})
    )
    assert provider == CPU
    assert notes == (
        "TensorrtExecutionProvider, CUDAExecutionProvider installed but did not start; running on CPUExecutionProvider",
    )


def test_cpu_only_build_uses_cpu_without_notes(tmp_path):
    _, provider, notes = onnx.create_session(Path("m.onnx"), make_config(tmp_path), [CPU], FakeOrt())
    assert provider == CPU and notes == ()


def test_requested_provider_missing_is_an_error_with_the_fix(tmp_path):
    config = make_config(tmp_path, onnx_providers="cuda")
    with pytest.raises(EarshotError) as err:
        onnx.create_session(Path("m.onnx"), config, [CPU], FakeOrt())
    message, hint = err.value.message, err.value.hint
    assert "CUDAExecutionProvider was requested" in message
    assert 'onnx_providers = "cuda"' in message and "offers only CPUExecutionProvider" in message
    assert "earshot[gpu]" in hint and 'onnx_providers = "auto"' in hint


def test_requested_tensorrt_missing_names_tensorrt(tmp_path):
    with pytest.raises(EarshotError, match="TensorrtExecutionProvider was requested"):
        onnx.candidate_chains("tensorrt,cpu", [CUDA, CPU])


def test_explicit_list_is_used_as_given(tmp_path):
    fake = FakeOrt()
    _, provider, _ = onnx.create_session(
        Path("m.onnx"), make_config(tmp_path, onnx_providers="cuda, cpu"), [TRT, CUDA, CPU], fake
    )
    assert provider == CUDA and fake.calls[0][0] == [CUDA, CPU]  # TensorRT not tried: not asked for


def test_explicit_provider_that_cannot_start_is_an_error(tmp_path):
    with pytest.raises(EarshotError, match="no ONNX Runtime provider could run m.onnx") as err:
        onnx.create_session(
            Path("m.onnx"), make_config(tmp_path, onnx_providers="cuda"), [CUDA, CPU], FakeOrt(broken={CUDA})
        )
    assert "doctor" in err.value.hint


def test_tensorrt_options_fp16_and_engine_cache_under_the_model_store(tmp_path):
    config = make_config(tmp_path)
    opts = onnx.provider_options(TRT, config)
    assert opts["trt_fp16_enable"] is True
    assert opts["trt_engine_cache_enable"] is True
    assert Path(opts["trt_engine_cache_path"]) == tmp_path / "models" / "tensorrt-cache"
    assert onnx.provider_options(TRT, make_config(tmp_path, tensorrt_fp16=False))["trt_fp16_enable"] is False


def test_no_provider_option_names_a_device(tmp_path):
    config = make_config(tmp_path)
    for provider in (TRT, CUDA, CPU):
        assert not any("device" in key for key in onnx.provider_options(provider, config))


def test_no_code_names_a_device_index():
    """AudioGPT hard-coded cuda:1. Nothing in the package may pick a card by number."""
    root = Path(onnx.__file__).resolve().parents[1]
    # GPU selectors only: an audio device index (sounddevice) is a different, legitimate thing.
    pattern = re.compile(
        r"""cuda:\d|device_id\s*=|["']device_id["']|gpu_id|cuda\.set_device\(|CUDA_VISIBLE_DEVICES["']\]?\s*="""
    )
    offenders = [
        f"{p.relative_to(root)}:{i}"
        for p in root.rglob("*.py")
        for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_thread_settings_suit_a_small_cpu(tmp_path, monkeypatch):
    monkeypatch.setattr(onnx.os, "cpu_count", lambda: 2)
    so = onnx.session_options(make_config(tmp_path))
    assert so.intra_op_num_threads == 2 and so.inter_op_num_threads == 1
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    so = onnx.session_options(make_config(tmp_path, cpu_threads=1, cpu_spinning=True))
    assert so.intra_op_num_threads == 1
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "1"


def test_doctor_description_of_the_choice(tmp_path):
    config = make_config(tmp_path)
    cpu = onnx.describe_providers(config, [CPU])
    assert cpu["ok"] and cpu["order"] == [CPU] and "earshot[gpu]" in cpu["fix"]
    gpu = onnx.describe_providers(config, [TRT, CUDA, CPU])
    assert gpu["detail"].startswith("auto: Tensorrt → CUDA → CPU") and "FP16 on" in gpu["detail"]
    missing = onnx.describe_providers(make_config(tmp_path, onnx_providers="cuda"), [CPU])
    assert not missing["ok"] and "earshot[gpu]" in missing["fix"]


def test_whisper_device(monkeypatch):
    import ctranslate2

    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 1)
    assert onnx.ctranslate2_device("auto") == ("cuda", "int8_float16")
    assert onnx.ctranslate2_device("cpu") == ("cpu", "int8")
    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: 0)
    assert onnx.ctranslate2_device("auto") == ("cpu", "int8")
    with pytest.raises(EarshotError, match="sees no CUDA device"):
        onnx.ctranslate2_device("cuda")


def test_config_toml_sets_the_providers(tmp_path, monkeypatch):
    from assistant.config import load_config

    (tmp_path / "config.toml").write_text(
        '[accelerator]\nonnx_providers = "cuda,cpu"\ntensorrt_cache_dir = "/tmp/trt"\n'
    )
    config = load_config(tmp_path / "config.toml")
    assert onnx.parse_providers(config.accelerator.onnx_providers) == [CUDA, CPU]
    assert config.accelerator.tensorrt_cache_dir == Path("/tmp/trt")
