"""Options, one documented dataclass per concern. Units are in the field names.

Defaults work on a 2-core laptop with no GPU. Every option can be set in
`$EARSHOT_HOME/config.toml` under a table named like the dataclass field of `EarshotConfig`
(e.g. `[planner]\nmax_steps = 3`); the CLI overrides a few of them per run.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path

from .errors import EarshotError


def earshot_home() -> Path:
    """Where Earshot keeps its models and sessions: `$EARSHOT_HOME`, else the per-user data dir."""
    env = os.environ.get("EARSHOT_HOME")
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_data_dir

    return Path(user_data_dir("earshot", appauthor=False))


@dataclass
class PathOptions:
    """Where things live on disk."""

    home_dir: Path = field(default_factory=earshot_home)
    # The model store; `$EARSHOT_MODELS` moves it (tests share one store across temp homes).
    models_dir: Path | None = None
    # Downloaded model wheels, kept so a re-install needs no network; copy it to an air-gapped host.
    wheelhouse_dir: Path | None = None
    # Extra folders (besides the session workspace) whose files a request may name.
    allowed_roots: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        self.home_dir = Path(self.home_dir)
        if self.models_dir is None:
            env = os.environ.get("EARSHOT_MODELS")
            self.models_dir = Path(env).expanduser().resolve() if env else self.home_dir / "models"
        if self.wheelhouse_dir is None:
            self.wheelhouse_dir = self.models_dir / "wheelhouse"
        self.allowed_roots = tuple(Path(p).expanduser().resolve() for p in self.allowed_roots)

    @property
    def cache_dir(self) -> Path:
        """Derived data that can be rebuilt (llama.cpp prompt-prefix states): `$EARSHOT_CACHE`,
        else the per-user cache folder. Shared across homes, keyed by model and prompt."""
        env = os.environ.get("EARSHOT_CACHE")
        if env:
            return Path(env).expanduser().resolve()
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("earshot", appauthor=False))

    @property
    def database_path(self) -> Path:
        return self.home_dir / "earshot.db"

    @property
    def sessions_dir(self) -> Path:
        return self.home_dir / "sessions"


@dataclass
class ModelChoice:
    """Which models of the store to use."""

    llm: str = "qwen2.5-coder-1.5b"    # planner; "smollm2-135m" is the fast test model
    asr: str = "whisper-tiny.en"       # "whisper-base" for many languages (`models install --asr base`)
    tts: str = "hibari-heart"
    denoiser: str = "deepfilternet3"


@dataclass
class LlmOptions:
    """llama.cpp settings."""

    # n_ctx; holds the prompt (tool list + per-turn part, trimmed to its budget) and the longest plan
    # the grammar allows (computed from it, so a plan is never cut off). KV cache: ~28 KB a token.
    context_tokens: int = 8192
    threads: int = 0                   # 0: as many as physical cores (2 on the reference laptop)
    gpu_layers: int = -1               # layers on the GPU with a CUDA build of llama.cpp (-1 all, 0 none); a CPU build ignores it
    temperature: float = 0.0           # plans must be reproducible
    seed: int = 0


@dataclass
class PlannerOptions:
    """How a request becomes a plan."""

    max_steps: int = 4                 # longer chains are refused by the grammar itself
    history_turns: int = 6             # recent turns shown to the planner (trimmed to the budget)
    history_token_budget: int = 900    # tokens for recent turns + artifact table
    max_say_chars: int = 400           # the spoken reply is short by construction
    repair_attempts: int = 1           # one retry with the validation error, then ask the user
    project_token_budget: int = 300    # the studio project's state (describe_project), most detail that fits


@dataclass
class AudioLimits:
    """What an input file may be; beyond these a tool refuses with a clear error."""

    max_duration_s: float = 1800.0     # 30 min; a two-hour file is refused, not silently truncated
    max_file_bytes: int = 2_000_000_000
    max_sample_rate_hz: int = 384_000


@dataclass
class ExecutionOptions:
    """How plan steps run."""

    tool_timeout_s: float = 600.0      # per step; a stuck tool is reported, not waited on forever


@dataclass
class SpeechOptions:
    """Spoken replies."""

    speak_replies: bool = True
    output_device: str | None = None   # name or index; None is the system default


@dataclass
class AcceleratorOptions:
    """Where the learned models run. "auto" takes the fastest backend that is installed *and* starts on
    this machine — TensorRT → CUDA → CPU for ONNX models, CUDA → CPU for Whisper, all layers on the GPU
    for a CUDA build of llama.cpp — so one install runs on a laptop and gets faster on a GPU
    workstation. No option names a device index: `CUDA_VISIBLE_DEVICES` chooses the card."""

    # "auto", or ONNX Runtime providers in order of preference, comma-separated: "tensorrt,cuda,cpu",
    # "cuda,cpu", "cpu". A provider named here that this onnxruntime lacks is an error, never a silent
    # fallback; "auto" falls back and `earshot doctor` says why.
    onnx_providers: str = "auto"
    tensorrt_fp16: bool = True          # FP16 engines: ~2x faster on tensor cores, outputs within ~1e-2
    tensorrt_cache_dir: Path | None = None   # built engines, reused across runs; None: <models_dir>/tensorrt-cache
    cpu_threads: int = 0                # ONNX Runtime threads per call; 0: one per core (2 on the reference laptop)
    # Idle ONNX Runtime threads spin-wait for the next call by default. That buys ~1 ms per call but
    # keeps a core busy that the audio loop, ASR and the planner need on a 2-core machine: off.
    cpu_spinning: bool = False
    whisper_device: str = "auto"        # faster-whisper: "auto" (CUDA when CTranslate2 sees a GPU) | "cuda" | "cpu"
    exports_dir: Path | None = None     # the exported ONNX models; None: onnx_exports/ of this checkout

    def __post_init__(self) -> None:
        # config.toml gives strings; paths are Paths from here on.
        if self.tensorrt_cache_dir is not None:
            self.tensorrt_cache_dir = Path(self.tensorrt_cache_dir).expanduser()
        if self.exports_dir is not None:
            self.exports_dir = Path(self.exports_dir).expanduser()


@dataclass
class EarshotConfig:
    paths: PathOptions = field(default_factory=PathOptions)
    models: ModelChoice = field(default_factory=ModelChoice)
    llm: LlmOptions = field(default_factory=LlmOptions)
    planner: PlannerOptions = field(default_factory=PlannerOptions)
    limits: AudioLimits = field(default_factory=AudioLimits)
    execution: ExecutionOptions = field(default_factory=ExecutionOptions)
    speech: SpeechOptions = field(default_factory=SpeechOptions)
    accelerator: AcceleratorOptions = field(default_factory=AcceleratorOptions)


def _apply(obj, table: dict, where: str):
    known = {f.name: f for f in fields(obj)}
    changes = {}
    for key, value in table.items():
        if key not in known:
            raise EarshotError(f"unknown option {where}.{key} in config.toml",
                               f"known options: {', '.join(sorted(known))}")
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise EarshotError(f"config.toml: [{where}.{key}] must be a table")
            changes[key] = _apply(current, value, f"{where}.{key}")
        else:
            changes[key] = value
    return replace(obj, **changes)


def load_config(path: Path | None = None) -> EarshotConfig:
    """Defaults, overlaid with `config.toml` from the Earshot home when it exists."""
    config = EarshotConfig()
    path = path or config.paths.home_dir / "config.toml"
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise EarshotError(f"{path} is not valid TOML: {exc}", "fix or delete the file") from exc
        config = _apply(config, table, "config")
    return config
