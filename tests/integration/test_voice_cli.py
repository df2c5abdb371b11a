"""`earshot listen --input FILE.wav --json --no-speak`: a recording drives the voice loop headless and
prints the same turn events as `earshot ask` (plus the voice events before them)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REAL_MODELS_DIR, require_models, word_error_rate

sys.path.insert(0, str(Path(__file__).parent))
from voice_signals import espeak16, hibari  # noqa: E402

pytestmark = pytest.mark.integration
LLM = "smollm2-135m"


def earshot(*args, home: Path, timeout=600):
    env = dict(os.environ, EARSHOT_HOME=str(home), EARSHOT_MODELS=str(REAL_MODELS_DIR), ORT_DISABLE_TELEMETRY="1")
    env.pop("PULSE_SERVER", None)
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def events(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip().startswith("{")]


def reply_text(evs: list[dict]) -> str:
    """The reply, with the session's own workspace path (it differs between two homes) left out."""
    (reply,) = [e for e in evs if e["type"] == "reply"]
    return re.sub(r"\S*/sessions/[\w-]+", "<workspace>", reply["text"])


_ASKED: dict[str, list[dict]] = {}  # transcript → `ask` events (both voices usually hear the same words)


@pytest.mark.parametrize("voice", ["hibari", "espeak"])
def test_listen_on_a_recording_prints_the_same_events_as_ask(tmp_path, voice):
    require_models("whisper-tiny.en", LLM)
    said = "What can you do?"
    audio = hibari(said) if voice == "hibari" else espeak16(said, "en-gb+m3")
    path = tmp_path / "request.wav"
    sf.write(path, np.concatenate([np.zeros(8000, np.float32), audio, np.zeros(8000, np.float32)]), 16_000)

    heard = earshot(
        "listen", "--input", str(path), "--json", "--no-speak", "--new-session", "--llm", LLM, home=tmp_path / "h1"
    )
    assert heard.returncode in (0, 1), heard.stderr[-2000:]
    got = events(heard)
    types = [e["type"] for e in got]
    (transcript,) = [e for e in got if e["type"] == "transcript"]
    assert word_error_rate(said, transcript["text"]) <= 0.25, transcript
    # Voice events come first, in order…
    assert types.index("speech_started") < types.index("speech_ended") < types.index("transcript")
    # …then the turn, exactly as `ask` prints it for the same text.
    if transcript["text"] not in _ASKED:
        typed = earshot(
            "ask", transcript["text"], "--json", "--no-speak", "--new-session", "--llm", LLM, home=tmp_path / "h2"
        )
        _ASKED[transcript["text"]] = events(typed)
    asked = _ASKED[transcript["text"]]
    ask_types = [e["type"] for e in asked]
    turn_types = [t for t in types[types.index("turn_started") :] if t in set(ask_types)]
    assert turn_types == ask_types, (turn_types, ask_types)
    (turn,) = [e for e in got if e["type"] == "turn_started"]
    assert turn["source"] == "spoken" and turn["text"] == transcript["text"]
    assert reply_text(got) == reply_text(asked)


def test_listen_on_silence_says_no_request_was_heard(tmp_path):
    require_models("whisper-tiny.en")
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(32000, np.float32), 16_000)
    proc = earshot(
        "listen", "--input", str(path), "--json", "--no-speak", "--new-session", "--llm", LLM, home=tmp_path / "h"
    )
    assert proc.returncode == 2
    assert events(proc)[-1]["type"] == "error" and "no request was heard" in events(proc)[-1]["message"]


def test_listen_with_an_unknown_microphone_name_is_a_clear_error(tmp_path):
    proc = earshot("listen", "--input-device", "no-such-microphone-xyz", "--json", "--no-speak", home=tmp_path / "h")
    assert proc.returncode == 2
    last = events(proc)[-1]
    assert last["type"] == "error"
    assert (
        "no input device matches 'no-such-microphone-xyz'" in last["message"]
        or "there is no microphone" in last["message"]
        or "audio devices are unavailable" in last["message"]
    )


def test_listen_judges_only_the_turns_it_heard_not_a_resumed_sessions_older_ones(tmp_path):
    """A resumed session with a failed turn, and a recording with no request in it: the run heard
    nothing, which is what it says (once every old turn was judged, and the exit code was 1)."""
    from assistant.config import EarshotConfig, PathOptions
    from assistant.store.session import SessionStore

    require_models("whisper-tiny.en", LLM)
    home = tmp_path / "h"
    store = SessionStore(EarshotConfig(paths=PathOptions(home_dir=home)).paths.database_path)
    session = store.create_session(tmp_path / "ws")
    old = session.begin_turn("denoise missing.wav", "typed")
    session.end_turn(old, "failed", error="missing.wav does not exist")
    store.close()
    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros(32_000, np.float32), 16_000)
    proc = earshot(
        "listen", "--input", str(path), "--json", "--no-speak", "--session", session.id, "--llm", LLM, home=home
    )
    assert proc.returncode == 2, proc.stdout[-1000:] + proc.stderr[-1000:]
    assert "no request was heard" in events(proc)[-1]["message"]
