"""The always-open microphone for two minutes (CI's soak; `earshot bench soak --minutes 60` is the real one):
`earshot listen` in a child process on a private PulseAudio server, fed requests, music, noise, silence
and a barge-in, watched from outside by `earshot bench soak`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REAL_MODELS_DIR

sys.path.insert(0, str(Path(__file__).parent))
from voice_signals import require_pulse  # noqa: E402

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEYS = (
    "rss_start_mb",
    "rss_end_mb",
    "rss_growth_mb",
    "fds_start",
    "fds_end",
    "threads_start",
    "threads_end",
    "turns_played",
    "turns_answered",
    "stuck",
    "crashes",
)


def test_two_minute_soak_answers_and_neither_crashes_nor_sticks_nor_leaks(tmp_path):
    require_pulse("whisper-tiny.en", "hibari-heart", "smollm2-135m")
    env = dict(os.environ, EARSHOT_MODELS=str(REAL_MODELS_DIR), PYTHONPATH=str(ROOT), ORT_DISABLE_TELEMETRY="1")
    args = ["bench", "soak", "--minutes", "2", "--json", "--llm", "smollm2-135m", "--home", str(tmp_path / "soak")]
    proc = subprocess.run(
        [sys.executable, "-m", "assistant", *args], capture_output=True, text=True, env=env, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(proc.stdout)
    print(json.dumps({k: v for k, v in r.items() if k != "samples"}, indent=1))
    assert set(KEYS) <= set(r)
    assert r["crashes"] == 0 and r["stuck"] == 0, r["crash_notes"]
    assert r["tracebacks_logged"] == 0, (tmp_path / "soak" / "listen.log").read_text()[-2000:]
    assert r["turns_played"] >= 4 and r["barge_ins"] >= 1
    assert r["turns_answered"] >= 0.75 * r["turns_played"], r["missed"]
    # Two minutes are mostly first use: the first turns of each kind allocate ~60 MB (926 → 988 MB in one
    # run), ~100 MB since the turn-end model and the command path joined the loop (757 → 860 MB, of which
    # 43 MB after the first loop of the feed). A leak of a model's or a long recording's size per turn would
    # pass 100 MB after the first loop within five turns; the hour-long `earshot bench soak` is the real
    # measure (README, "The always-open microphone").
    assert r["rss_growth_mb"] < 150
    assert r["rss_growth_after_warm_mb"] < 100
    assert r["fds_end"] <= r["fds_start"] + 4  # nothing opened per turn and kept
