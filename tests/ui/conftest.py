"""Fixtures for the TUI tests: an app on a real session, and a deterministic one for snapshots."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from assistant.store.session import Session

TEST_LLM = "smollm2-135m"  # the small test model; SmolLM2 routes "describe X" right, little else


def tone(path: Path, seconds: float = 2.0, rate_hz: int = 16000, freq_hz: float = 440.0) -> Path:
    """A deterministic test signal: a sine whose loudness rises then falls (so the waveform has a shape)."""
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    envelope = np.sin(np.pi * t / seconds) ** 2
    sf.write(path, (0.5 * envelope * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32), rate_hz, subtype="PCM_16")
    return path


@pytest.fixture
def workspace_with_tone(session: Session) -> Session:
    tone(session.workspace / "tone.wav")
    return session


async def wait_for(pilot, predicate, timeout_s: float = 600.0, step_s: float = 0.2) -> None:
    """Let the app run until `predicate()` holds (real models on a shared 2-core CPU can be slow)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {predicate.__doc__ or predicate}")
        await pilot.pause(step_s)


SNAPSHOT_ROOT = Path("/tmp/earshot-ui-snapshot")  # fixed: paths are drawn on screen
SNAPSHOT_SESSION = "20261124-221500-5a7e"


@pytest.fixture
def snapshot_session(config):
    """A session with a fixed id, workspace path, and two artifacts with fixed metadata."""
    from assistant.store.session import SessionStore

    shutil.rmtree(SNAPSHOT_ROOT, ignore_errors=True)
    workspace = SNAPSHOT_ROOT / "workspace"
    workspace.mkdir(parents=True)
    store = SessionStore(config.paths.database_path)
    store.db.execute(
        "INSERT INTO sessions(id, created_at, workspace, title) VALUES (?,?,?,?)",
        (SNAPSHOT_SESSION, 1_795_000_000.0, str(workspace), None),
    )
    session = store.open_session(SNAPSHOT_SESSION)
    memo = tone(workspace / "memo.wav", seconds=3.0, rate_hz=16000)
    session.add_artifact(memo, "input", duration_s=3.0, sample_rate_hz=16000, channels=1)
    yield session
    store.close()


@pytest.fixture
def anyio_backend():
    return "asyncio"  # Textual runs on asyncio; the tests are async through anyio's pytest plugin
