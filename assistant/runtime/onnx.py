"""ONNX models: the exported files (sha256-checked), the execution provider, one cached session each.

Exported models live in `onnx_exports/` (written by `scripts/export_models.py`, described by its
`manifest.json`). Loading one never needs torch: the file is hashed and compared with the manifest
before ONNX Runtime sees it, so a damaged or hand-edited file is refused with the fix.

Provider choice ("auto", the default of `[accelerator] onnx_providers`):

    TensorRT EP (FP16, engines cached under the model store)  →  CUDA EP  →  CPU EP

taking the first that this onnxruntime build *has* (`get_available_providers`) and that actually
*starts* (a CUDA build without the CUDA libraries lists CUDA but falls back to the CPU when a session
is made: that is detected and reported, not trusted). An explicit list ("cuda,cpu") is used as
given; a provider named there that this build lacks is an error naming the fix, never a silent
fallback. No code here names a device index: `CUDA_VISIBLE_DEVICES` chooses the card.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import EarshotConfig
from ..errors import EarshotError, ModelMissing
from ..store.hashing import sha256_of

TENSORRT = "TensorrtExecutionProvider"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# Fastest first. Only these three are chosen automatically; others can still be named explicitly.
AUTO_ORDER: tuple[str, ...] = (TENSORRT, CUDA, CPU)
SHORT_NAMES = {"tensorrt": TENSORRT, "trt": TENSORRT, "cuda": CUDA, "cpu": CPU}

GPU_HINT = "pip install 'earshot[gpu]' (onnxruntime-gpu; TensorRT also needs NVIDIA's TensorRT libraries)"
EXPORT_HINT = (
    "restore the file with `git checkout onnx_exports/`, or rebuild it with "
    "`python scripts/export_models.py --all` (needs `pip install 'earshot[export]'`)"
)


def default_exports_dir() -> Path:
    """onnx_exports/ at the top of this checkout (beside the `assistant` package)."""
    return Path(__file__).resolve().parents[2] / "onnx_exports"


def exports_dir(config: EarshotConfig | None) -> Path:
    if config is not None and config.accelerator.exports_dir is not None:
        return Path(config.accelerator.exports_dir)
    return default_exports_dir()


# -- the manifest and verified files -------------------------------------------------------------
@dataclass(frozen=True)
class ExportedModel:
    """One exported ONNX file as the manifest describes it, verified on disk."""

    name: str
    path: Path
    sha256: str
    entry: dict = field(repr=False)  # the manifest entry: source, opset, shapes, parity, preprocessing

    @property
    def inputs(self) -> list[dict]:
        return self.entry.get("inputs", [])

    @property
    def outputs(self) -> list[dict]:
        return self.entry.get("outputs", [])


def load_manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelMissing(f"{path} is missing: no exported ONNX models", EXPORT_HINT) from None
    except ValueError as exc:
        raise ModelMissing(f"{path} is not valid JSON ({exc})", EXPORT_HINT) from exc


# (path, size, mtime_ns) → sha256 already checked in this process: exported files are a few MB, so
# hashing once per process is cheap, and any change to the file forces a new check.
_VERIFIED: dict[tuple[str, int, int], str] = {}


def verify_file(path: Path, expected_sha256: str, what: str) -> None:
    """Raise ModelMissing unless `path` exists and hashes to `expected_sha256`."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelMissing(f"{what}: {path} is missing", EXPORT_HINT) from None
    key = (str(path), st.st_size, st.st_mtime_ns)
    if _VERIFIED.get(key) == expected_sha256:
        return
    digest = sha256_of(path)
    if digest != expected_sha256:
        raise ModelMissing(
            f"{what}: {path} is corrupt (sha256 {digest[:12]}…, manifest says {expected_sha256[:12]}…)", EXPORT_HINT
        )
    _VERIFIED[key] = digest


def exported_model(name: str, config: EarshotConfig | None = None) -> ExportedModel:
    """The verified exported model `name` (e.g. "crepe-tiny"), or ModelMissing with the fix."""
    folder = exports_dir(config)
    manifest = load_manifest(folder)
    models = manifest.get("models", {})
    if name not in models:
        raise ModelMissing(
            f"no exported ONNX model {name!r} in {folder / 'manifest.json'}",
            f"exported models: {', '.join(models) or 'none'}",
        )
    entry = models[name]
    path = folder / entry["file"]
    verify_file(path, entry["sha256"], f"ONNX model {name}")
    return ExportedModel(name, path, entry["sha256"], entry)


def exported_file(name: str, config: EarshotConfig | None = None) -> Path:
    """A verified companion file of the exports (e.g. "imagenet-labels.json")."""
    folder = exports_dir(config)
    files = load_manifest(folder).get("files", {})
    if name not in files:
        raise ModelMissing(f"{name} is not listed in {folder / 'manifest.json'}", EXPORT_HINT)
    path = folder / name
    verify_file(path, files[name]["sha256"], name)
    return path


def exported_available(name: str, config: EarshotConfig | None = None) -> bool:
    """True when the model is listed and its file verifies (for labelled fallbacks such as pyin)."""
    try:
        exported_model(name, config)
        return True
    except ModelMissing:
        return False


# -- providers ---------------------------------------------------------------------------------------
def available_providers() -> list[str]:
    """What this onnxruntime build offers (a seam the tests replace with a fake list)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def parse_providers(setting: str) -> list[str] | None:
    """`"auto"` → None; `"cuda, cpu"` → the ONNX Runtime names, in order; unknown short names pass through
    as full names (e.g. "OpenVINOExecutionProvider")."""
    setting = (setting or "auto").strip()
    if setting.lower() == "auto":
        return None
    names = []
    for part in setting.split(","):
        part = part.strip()
        if part:
            names.append(SHORT_NAMES.get(part.lower(), part))
    if not names:
        raise EarshotError(
            "config.toml: [accelerator] onnx_providers is empty", 'use "auto", or a list such as "cuda,cpu"'
        )
    return names


def candidate_chains(setting: str, available: list[str]) -> list[list[str]]:
    """The provider lists to try, best first. Each is what one InferenceSession is created with.

    auto: the installed subset of TensorRT → CUDA → CPU; if TensorRT does not start, the next try
    is CUDA → CPU, and so on. Explicit: exactly the configured list, once; a provider it names that
    this build lacks raises with the fix (a user who asked for the GPU must not silently get the CPU)."""
    requested = parse_providers(setting)
    if requested is None:
        installed = [p for p in AUTO_ORDER if p in available]
        if CPU not in installed:  # every onnxruntime build has it; keep the last resort explicit
            installed.append(CPU)
        return [installed[i:] for i in range(len(installed))]
    missing = [p for p in requested if p not in available]
    if missing:
        gpu = any(p in (TENSORRT, CUDA) for p in missing)
        raise EarshotError(
            f"ONNX Runtime provider {', '.join(missing)} was requested ([accelerator] onnx_providers = "
            f"\"{setting}\"), but this onnxruntime offers only {', '.join(available) or 'none'}",
            (GPU_HINT + ", or set onnx_providers = \"auto\"")
            if gpu
            else "set [accelerator] onnx_providers = \"auto\" in config.toml",
        )
    return [requested]


def provider_options(provider: str, config: EarshotConfig) -> dict[str, Any]:
    """Options per provider. None of them names a device (ONNX Runtime's default device, i.e. the
    first one CUDA_VISIBLE_DEVICES leaves visible)."""
    acc = config.accelerator
    if provider == TENSORRT:
        cache = Path(acc.tensorrt_cache_dir or Path(config.paths.models_dir) / "tensorrt-cache")
        return {
            "trt_fp16_enable": bool(acc.tensorrt_fp16),
            # Building an engine takes seconds to minutes; cache it per model, shape profile and GPU.
            "trt_engine_cache_enable": True,
            "trt_engine_cache_path": str(cache),
            "trt_timing_cache_enable": True,
            "trt_timing_cache_path": str(cache),
        }
    if provider == CUDA:
        # HEURISTIC picks convolution algorithms without benchmarking each shape: no stall on the first
        # call of every new input length.
        return {"cudnn_conv_algo_search": "HEURISTIC"}
    return {}


def session_options(config: EarshotConfig):
    import onnxruntime as ort

    acc = config.accelerator
    so = ort.SessionOptions()
    # One call uses every core (2 on the reference laptop) and no more: more threads than cores only
    # adds contention. Calls themselves are serial (inter-op 1): these graphs are single chains.
    so.intra_op_num_threads = int(acc.cpu_threads) if acc.cpu_threads > 0 else max(1, os.cpu_count() or 2)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # The files on disk are optimised only with portable (basic) passes so every provider can run them;
    # the provider-specific passes (layout, fusions) run here, for the provider actually chosen.
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if acc.cpu_spinning else "0")
    so.enable_cpu_mem_arena = acc.cpu_memory_arena
    so.log_severity_level = 3  # warnings about provider fallback are reported by us, once
    return so


def _default_factory(path: str | bytes, so, providers: list[str], options: list[dict]):
    import onnxruntime as ort

    # Errors (a GPU provider's missing library, named) still print; the follow-up warnings do not.
    ort.set_default_logger_severity(3)
    if any(p in (TENSORRT, CUDA) for p in providers):
        _preload_cuda_libraries(ort)

    return ort.InferenceSession(path, sess_options=so, providers=providers, provider_options=options)


_PRELOADED = False


def _preload_cuda_libraries(ort) -> None:
    """onnxruntime-gpu ≥ 1.21 finds CUDA/cuDNN installed as pip packages (the `gpu` extra) only after
    preload_dlls(); system-wide libraries are found either way. Once per process, quietly: a library it
    cannot find shows up as the provider not starting, which is reported."""
    global _PRELOADED
    if _PRELOADED or not hasattr(ort, "preload_dlls"):
        return
    _PRELOADED = True
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        try:
            ort.preload_dlls()
        except Exception:
            pass


# The seam the tests replace: (path, session options, providers, provider options) → session.
SessionFactory = Callable[[str | bytes, Any, list[str], list[dict]], Any]


@dataclass
class OnnxModel:
    """A loaded session and how it was chosen."""

    model: ExportedModel
    session: Any
    provider: str  # the provider actually running the graph (first of get_providers())
    requested: str  # the config setting it was chosen under
    notes: tuple[str, ...] = ()  # why a faster provider was passed over

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.session.get_inputs()]

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.session.run(None, feeds)


def create_session(
    path: Path | bytes,
    config: EarshotConfig,
    available: list[str] | None = None,
    factory: SessionFactory | None = None,
) -> tuple[Any, str, tuple[str, ...]]:
    """Make a session on the best provider that starts. Returns (session, provider, notes). `path` may also
    be a serialised model (bytes) made in memory from a verified file."""
    model = path if isinstance(path, bytes) else str(path)
    name = "an in-memory model" if isinstance(path, bytes) else path.name
    available = available_providers() if available is None else available
    factory = factory or _default_factory
    setting = config.accelerator.onnx_providers
    chains = candidate_chains(setting, available)
    so = session_options(config)
    notes: list[str] = []
    for chain in chains:
        want = chain[0]
        try:
            session = factory(model, so, chain, [provider_options(p, config) for p in chain])
        except Exception as exc:  # a provider that is installed but cannot start (missing CUDA/TensorRT libs)
            notes.append(f"{want} did not start: {str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}")
            continue
        used = list(session.get_providers())
        if used and used[0] == want:
            return session, want, tuple(notes)
        if used and used[0] in chain:
            # ONNX Runtime fell back by itself to a later provider of the same list: keep that session
            # (it is what the next try would make) and say why the faster one was passed over.
            skipped = ", ".join(chain[: chain.index(used[0])])
            notes.append(f"{skipped} installed but did not start; running on {used[0]}")
            return session, used[0], tuple(notes)
        notes.append(f"{want} is installed but did not start (ONNX Runtime offered {used[0] if used else 'nothing'})")
    raise EarshotError(
        f"no ONNX Runtime provider could run {name} with onnx_providers = \"{setting}\": " + "; ".join(notes),
        "set [accelerator] onnx_providers = \"auto\" (or \"cpu\") in config.toml; "
        "`earshot doctor` shows what is installed",
    )


_SESSIONS: dict[tuple, OnnxModel] = {}
_SESSIONS_LOCK = threading.Lock()


def onnx_model(name: str, config: EarshotConfig) -> OnnxModel:
    """The process-wide session for an exported model: verified, created once, reused by every call."""
    model = exported_model(name, config)
    acc = config.accelerator
    key = (str(model.path), model.sha256, acc.onnx_providers, acc.tensorrt_fp16, acc.cpu_threads, acc.cpu_spinning)
    with _SESSIONS_LOCK:
        cached = _SESSIONS.get(key)
        if cached is None:
            session, provider, notes = create_session(model.path, config)
            cached = OnnxModel(model, session, provider, acc.onnx_providers, notes)
            _SESSIONS[key] = cached
        return cached


def clear_sessions() -> None:
    with _SESSIONS_LOCK:
        _SESSIONS.clear()


# -- what `earshot doctor` shows ------------------------------------------------------------------
def describe_providers(config: EarshotConfig, available: list[str] | None = None) -> dict:
    """What "auto" (or the configured list) would choose here, without loading a model."""
    try:
        available = available_providers() if available is None else available
    except Exception as exc:  # onnxruntime missing or broken
        return {"ok": False, "detail": f"onnxruntime not importable: {exc}", "available": []}
    setting = config.accelerator.onnx_providers
    try:
        chains = candidate_chains(setting, available)
    except EarshotError as exc:
        return {"ok": False, "detail": exc.message, "fix": exc.hint, "available": available}
    order = chains[0]
    gpu = [p for p in order if p in (TENSORRT, CUDA)]
    detail = f"{setting}: " + " → ".join(p.replace("ExecutionProvider", "") for p in order)
    if TENSORRT in order:
        detail += (
            f" (TensorRT FP16 {'on' if config.accelerator.tensorrt_fp16 else 'off'}, engine cache "
            f"{config.accelerator.tensorrt_cache_dir or Path(config.paths.models_dir) / 'tensorrt-cache'})"
        )
    fix = "" if gpu else "CPU only; for a GPU: " + GPU_HINT
    return {"ok": True, "detail": detail, "fix": fix, "available": available, "order": order}


def probe_provider(config: EarshotConfig, name: str = "crepe-tiny") -> dict:
    """Load one small exported model and report the provider that really runs it (doctor's live check)."""
    try:
        loaded = onnx_model(name, config)
    except EarshotError as exc:
        return {"ok": False, "detail": exc.message, "fix": exc.hint}
    detail = f"{name} runs on {loaded.provider}"
    if loaded.notes:
        detail += " (" + "; ".join(loaded.notes) + ")"
    return {"ok": True, "detail": detail, "fix": ""}


def ctranslate2_device(preference: str = "auto", compute_type: str = "int8") -> tuple[str, str]:
    """faster-whisper's device and compute type: CUDA when asked for or ("auto") when CTranslate2 sees a
    GPU, else the CPU. On CUDA int8 weights with FP16 activations keep int8's memory and gain speed."""
    preference = (preference or "auto").lower()
    if preference == "cpu":
        return "cpu", compute_type
    try:
        import ctranslate2

        gpus = ctranslate2.get_cuda_device_count()
    except Exception:
        gpus = 0
    if gpus > 0:
        return "cuda", ("int8_float16" if compute_type == "int8" else compute_type)
    if preference == "cuda":
        raise EarshotError(
            "[accelerator] whisper_device = \"cuda\", but CTranslate2 sees no CUDA device",
            "install the NVIDIA driver and CUDA 12 libraries (cuBLAS, cuDNN 9), or set whisper_device = \"auto\"",
        )
    return "cpu", compute_type
