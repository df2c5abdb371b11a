"""A process that loaded the LLM ends quietly: the model is freed at exit while llama_cpp is still whole. Left to
the interpreter's last teardown, Llama.__del__ printed a TypeError traceback per model at the end of every
test-suite run (two per fresh-clone CI log); a small script does not provoke that teardown order, so the first
test guards the exit path (no traceback, exit 0) and the second the close itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REAL_MODELS_DIR, require_models

pytestmark = pytest.mark.integration


def test_a_process_holding_a_loaded_model_exits_without_a_traceback():
    require_models("smollm2-135m")
    path = next((REAL_MODELS_DIR / "smollm2-135m").glob("*.gguf"))
    script = textwrap.dedent(
        f"""
        from assistant.config import LlmOptions
        from assistant.runtime.llm import LlmClient
        from assistant.runtime.models import cached_model

        client = cached_model("llm:test", lambda: LlmClient({str(path)!r}, LlmOptions(context_tokens=512)))
        print(client.count_tokens("hello there"))
        del client  # only the process-wide cache holds it now, as in the CLI and the test suite
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) > 0
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr, done.stderr


def test_close_frees_the_model_once_and_is_idempotent():
    require_models("smollm2-135m")
    from assistant.config import LlmOptions
    from assistant.runtime.llm import _OPEN_CLIENTS, LlmClient

    client = LlmClient(next((REAL_MODELS_DIR / "smollm2-135m").glob("*.gguf")), LlmOptions(context_tokens=512))
    assert client in _OPEN_CLIENTS
    assert client.close() and client.llm is None and client not in _OPEN_CLIENTS
    assert client.close()  # a second close does nothing
