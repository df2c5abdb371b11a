"""The CLI contract end to end, on the default models: `earshot ask --json`, `plan`, `tools`,
`history`, and every bad input giving a one-line error, a non-zero exit and an intact store."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import REAL_MODELS_DIR, require_models, word_error_rate

pytestmark = pytest.mark.integration


def earshot(*args, home: Path, models: Path = REAL_MODELS_DIR, timeout=900):
    env = dict(os.environ, EARSHOT_HOME=str(home), EARSHOT_MODELS=str(models), ORT_DISABLE_TELEMETRY="1")
    return subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def events(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


@pytest.fixture
def workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


def db_snapshot(home: Path) -> dict:
    import sqlite3

    db = sqlite3.connect(home / "earshot.db")
    out = {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in ("sessions", "turns", "tool_runs", "artifacts")}
    db.close()
    return out


def files_snapshot(ws: Path) -> dict:
    return {p.name: p.read_bytes() for p in ws.iterdir() if p.is_file()}


def test_say_hello_world_and_save_it(tmp_path, workspace):
    """The issue's must-show: a WAV whose transcript is "hello world"."""
    require_models("qwen2.5-coder-1.5b", "hibari-heart", "whisper-tiny.en")
    proc = earshot(
        "ask",
        "say hello world and save it",
        "--json",
        "--no-speak",
        "--workspace",
        str(workspace),
        home=tmp_path / "home",
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    evs = events(proc)
    assert evs[-1]["type"] == "reply"
    assert [e["type"] for e in evs][:2] == ["turn_started", "plan_ready"]
    assert any(e["type"] == "tool_finished" and e["tool"] == "speak" and e["status"] == "ok" for e in evs)
    wavs = [Path(p) for p in evs[-1]["artifacts"]]
    assert len(wavs) == 1 and wavs[0].suffix == ".wav" and wavs[0].parent == workspace.resolve()
    audio, rate = sf.read(wavs[0], dtype="float32")
    assert rate == 24000 and len(audio) / rate > 0.5

    # Transcribe it with the transcribe tool, in the same session, through the CLI.
    proc2 = earshot(
        "ask",
        f"transcribe {wavs[0].name}",
        "--json",
        "--no-speak",
        "--workspace",
        str(workspace),
        home=tmp_path / "home",
    )
    assert proc2.returncode == 0, proc2.stderr + proc2.stdout
    done = [e for e in events(proc2) if e["type"] == "tool_finished" and e["tool"] == "transcribe"]
    assert done and done[0]["status"] == "ok"
    assert word_error_rate("hello world", done[0]["data"]["text"]) == 0.0
    text_file = next(Path(a["path"]) for a in done[0]["artifacts"] if a["kind"] == "text")
    assert text_file.read_text().splitlines()[0] == done[0]["data"]["text"]


def test_plan_prints_a_plan_and_runs_nothing(tmp_path, workspace):
    require_models("qwen2.5-coder-1.5b")
    sf.write(workspace / "memo.wav", np.zeros(16000, dtype=np.float32), 16000)
    before = files_snapshot(workspace)
    proc = earshot(
        "plan", "remove the noise from memo.wav", "--json", "--workspace", str(workspace), home=tmp_path / "home"
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["valid"] and out["plan"]["steps"][0]["tool"] == "denoise"
    assert files_snapshot(workspace) == before


def test_tools_json_lists_every_tool_with_a_schema(tmp_path):
    proc = earshot("tools", "--json", home=tmp_path / "home")
    assert proc.returncode == 0
    tools = {t["name"]: t for t in json.loads(proc.stdout)}
    assert {"transcribe", "speak", "denoise", "describe", "edit"} <= set(tools)
    for t in tools.values():
        assert t["args"]["type"] == "object" and t["summary"] and t["method"]


BAD_INPUTS = {
    "missing": ("describe nothere.wav", None),
    "escape": ("describe ../../etc/passwd", None),
    "text_as_wav": ("describe notes.wav", "text"),
    "empty": ("describe empty.wav", "empty"),
    "nan": ("describe broken.wav", "nan"),
    "too_long": ("describe long.wav", "long"),
}


def make_bad_files(ws: Path) -> None:
    (ws / "notes.wav").write_text("this is a text file, not audio\n" * 20)
    (ws / "empty.wav").write_bytes(b"")
    nan = np.zeros(16000, dtype=np.float32)
    nan[100:200] = np.nan
    sf.write(ws / "broken.wav", nan, 16000, subtype="FLOAT")
    with sf.SoundFile(ws / "long.wav", "w", samplerate=1000, channels=1, subtype="PCM_U8") as f:
        block = np.zeros(1000 * 600, dtype=np.float32)
        for _ in range(12):  # two hours at 1 kHz
            f.write(block)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_error_and_loses_nothing(tmp_path, workspace, case):
    require_models("qwen2.5-coder-1.5b")
    home = tmp_path / "home"
    make_bad_files(workspace)
    sf.write(workspace / "good.wav", 0.1 * np.ones(8000, dtype=np.float32), 16000)
    # A first, successful turn so there is history and an artifact to protect.
    ok = earshot("ask", "make good.wav 3 dB louder", "--json", "--no-speak", "--workspace", str(workspace), home=home)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    before_db, before_files = db_snapshot(home), files_snapshot(workspace)

    request, _ = BAD_INPUTS[case]
    proc = earshot("ask", request, "--json", "--no-speak", "--workspace", str(workspace), home=home)
    assert proc.returncode != 0
    last = events(proc)[-1]
    assert last["type"] in ("error", "reply")
    message = last.get("message", "") + " " + last.get("hint", "") + " " + last.get("text", "")
    expected = {
        "missing": "nothere.wav",
        "escape": "outside the workspace",
        "text_as_wav": "not a readable audio",
        "empty": "empty",
        "nan": "NaN",
        "too_long": "limit",
    }[case]
    assert expected in message, message
    after_db, after_files = db_snapshot(home), files_snapshot(workspace)
    assert after_files == before_files  # nothing written, nothing overwritten
    for table in ("sessions", "artifacts"):
        assert after_db[table] == before_db[table]
    assert after_db["turns"][: len(before_db["turns"])] == before_db["turns"]  # history only grows


def test_missing_model_names_the_fix(tmp_path):
    empty_store = tmp_path / "empty-store"
    empty_store.mkdir()
    # A request the LLM must plan ("hello" is answered by the command path, which needs no model).
    proc = earshot("ask", "what is a compressor?", "--json", "--no-speak", home=tmp_path / "home", models=empty_store)
    assert proc.returncode == 2
    err = events(proc)[-1]
    assert err["type"] == "error" and "qwen2.5-coder-1.5b" in err["message"] and "missing" in err["message"]
    assert "earshot models install" in err["hint"]


def test_a_command_path_turn_needs_no_language_model(tmp_path, workspace):
    """A command the templates parse runs without the LLM, and its process does not load it afterwards to
    keep the session's context (which failed the finished turn, exit 2, when the model was missing)."""
    sf.write(workspace / "memo.wav", (0.1 * np.sin(np.arange(16_000) / 7)).astype(np.float32), 16_000)
    empty_store = tmp_path / "empty-store"
    empty_store.mkdir()
    proc = earshot(
        "ask", "convert memo.wav to flac", "--json", "--no-speak", "--workspace", str(workspace),
        home=tmp_path / "home", models=empty_store,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    evs = events(proc)
    assert [e["planner"] for e in evs if e["type"] == "plan_ready"] == ["fast"]
    assert not [e for e in evs if e["type"] == "error"]
    assert (workspace / "memo-flac.flac").is_file()


def test_corrupt_model_is_detected_and_named(tmp_path):
    require_models("smollm2-135m")
    store = tmp_path / "store"
    shutil.copytree(REAL_MODELS_DIR / "smollm2-135m", store / "smollm2-135m")
    gguf = store / "smollm2-135m" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    with open(gguf, "r+b") as f:  # flip one byte in the middle; same size
        f.seek(50_000_000)
        byte = f.read(1)
        f.seek(50_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    proc = earshot(
        "ask",
        "what is a compressor?",
        "--json",
        "--no-speak",
        "--llm",
        "smollm2-135m",
        home=tmp_path / "home",
        models=store,
    )
    assert proc.returncode == 2
    err = events(proc)[-1]
    assert "corrupt" in err["message"] and "earshot models install" in err["hint"]
    verify = earshot("models", "verify", home=tmp_path / "home", models=store)
    assert verify.returncode == 1 and "smollm2-135m" in verify.stderr and "corrupt" in verify.stderr


def test_history_shows_turns_runs_and_artifacts(tmp_path, workspace):
    require_models("qwen2.5-coder-1.5b", "hibari-heart")
    home = tmp_path / "home"
    proc = earshot(
        "ask", "say good morning and save it", "--json", "--no-speak", "--workspace", str(workspace), home=home
    )
    assert proc.returncode == 0, proc.stderr
    hist = json.loads(earshot("history", "--json", home=home).stdout)
    assert hist["turns"][0]["user_text"] == "say good morning and save it"
    assert hist["turns"][0]["status"] == "ok"
    assert hist["turns"][0]["plans"][0]["valid"] == 1
    run = hist["turns"][0]["tool_runs"][0]
    assert run["tool"] == "speak" and run["status"] == "ok" and run["duration_s"] > 0
    art = hist["artifacts"][0]
    assert art["id"] == "a1" and art["tool"] == "speak" and len(art["sha256"]) == 64 and art["sample_rate_hz"] == 24000


def test_bench_startup_exits_0_with_its_figures(tmp_path):
    proc = earshot("bench", "startup", "--json", "--runs", "1", home=tmp_path / "home", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["runs"] == 1 and result["first_screen_p50_ms"] > 0 and result["baseline_textual_hello_p50_ms"] > 0
