"""Shared fixtures. Every test runs with network access blocked (a socket guard refuses any
non-Unix socket connection), in a temporary Earshot home that shares the real model store."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# No detached context keeper after a command-path `earshot ask` (runtime/context_keeper.py): a test's
# temporary home would be gone before it finished, and it would load the LLM beside the next tests.
os.environ.setdefault("EARSHOT_NO_BACKGROUND", "1")

from assistant.config import EarshotConfig, PathOptions  # noqa: E402
from assistant.runtime.models import ModelStore  # noqa: E402
from assistant.store.session import Artifact, Session, SessionStore  # noqa: E402

REAL_MODELS_DIR = PathOptions().models_dir


class NetworkBlocked(RuntimeError):
    pass


def _loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) and address else ""
    return host in ("127.0.0.1", "localhost", "::1")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch, request):
    real_connect = socket.socket.connect
    # Only a test marked `loopback` (a local Ray cluster) may connect, and only to this machine.
    loopback_ok = request.node.get_closest_marker("loopback") is not None

    def guarded(self, address):
        if self.family == socket.AF_UNIX or (loopback_ok and _loopback(address)):
            return real_connect(self, address)
        raise NetworkBlocked(f"test tried to open a network connection to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(
        socket, "create_connection", lambda *a, **k: (_ for _ in ()).throw(NetworkBlocked(f"create_connection{a!r}"))
    )
    yield


@pytest.fixture
def earshot_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("EARSHOT_HOME", str(home))
    monkeypatch.setenv("EARSHOT_MODELS", str(REAL_MODELS_DIR))
    return home


@pytest.fixture
def config(earshot_home) -> EarshotConfig:
    return EarshotConfig(paths=PathOptions(home_dir=earshot_home, models_dir=REAL_MODELS_DIR))


@pytest.fixture
def store(config) -> SessionStore:
    s = SessionStore(config.paths.database_path)
    yield s
    s.close()


@pytest.fixture
def session(store, tmp_path) -> Session:
    return store.create_session(tmp_path / "workspace")


@pytest.fixture
def model_store(config) -> ModelStore:
    return ModelStore(config.paths)


def require_models(*names: str) -> None:
    """Fail (not skip) with the fix when a model the test needs is not installed."""
    store = ModelStore(PathOptions(models_dir=REAL_MODELS_DIR))
    for name in names:
        if not store.installed(name):
            pytest.fail(f"model {name} is not installed in {REAL_MODELS_DIR}: run `earshot models install`")


def add_input(
    session: Session,
    audio: np.ndarray | None = None,
    sample_rate_hz: int = 16000,
    name: str = "input.wav",
    src: Path | None = None,
) -> Artifact:
    """Put a user file into the workspace and register it as the session would when a request names it."""
    import soundfile as sf

    dest = session.workspace / name
    if src is not None:
        dest.write_bytes(Path(src).read_bytes())
    else:
        sf.write(dest, audio, sample_rate_hz, subtype="FLOAT")
    info = sf.info(str(dest))
    return session.add_artifact(
        dest, "input", duration_s=info.frames / info.samplerate, sample_rate_hz=info.samplerate, channels=info.channels
    )


@pytest.fixture
def tool_ctx(session, config, model_store):
    """ToolContext factory: tool_ctx("denoise") → a context writing into the test session."""
    from assistant.audio_models.base import ToolContext

    def make(tool_name: str) -> ToolContext:
        return ToolContext(session=session, config=config, models=model_store, tool_name=tool_name)

    return make


def espeak(text: str, path: Path, voice: str = "en-us", speed_wpm: int = 150) -> Path:
    """Real speech from espeak-ng (a system package the installer provides)."""
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed_wpm), "-w", str(path), text], check=True, capture_output=True
    )
    return path


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019) over the common length."""
    n = min(len(reference), len(estimate))
    ref, est = reference[:n].astype(np.float64), estimate[:n].astype(np.float64)
    ref, est = ref - ref.mean(), est - est.mean()
    alpha = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    target = alpha * ref
    noise = est - target
    return float(10 * np.log10((np.sum(target**2) + 1e-12) / (np.sum(noise**2) + 1e-12)))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over words / reference words, after lower-casing and dropping punctuation."""
    import re

    def norm(s: str) -> list[str]:
        return re.sub(r"[^a-z0-9' ]+", " ", s.lower()).split()

    ref, hyp = norm(reference), norm(hypothesis)
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
    return d[len(hyp)] / max(len(ref), 1)


@pytest.fixture
def run_tool(session, config, model_store):
    """run_tool("denoise", file="noisy.wav", strength=1.0) → ToolResult: the tool as a plan step runs it
    (raw JSON args validated and resolved against the test session: "@a1", "@last", workspace names)."""
    from assistant.audio_models.base import ToolContext
    from assistant.audio_models.registry import default_registry
    from assistant.llm.plan import build_args, resolve_ref, resolve_text
    from assistant.runtime.llm import get_llm

    def run(name: str, **raw_args):
        tool = default_registry().get(name)

        def resolve(ref: str, want: str = "file"):
            if want == "text":
                return resolve_text(ref, session, 1, {})
            return resolve_ref(ref, session, config.paths.allowed_roots, 1, {}, config.limits)

        args = build_args(tool, raw_args, resolve, step_index=1)
        ctx = ToolContext(
            session=session, config=config, models=model_store, tool_name=name, load_llm=lambda: get_llm(config)
        )
        return tool.run(args, ctx)

    return run
