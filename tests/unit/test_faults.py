"""Kill points: EARSHOT_FAULT=name:N kills the process with SIGKILL the Nth time it reaches `name`, and
nothing else does anything (the cost in production is one lookup)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from assistant import faults
for i in range(1, 6):
    faults.point("artifact_write")
    faults.point("turn_end")
    print(i, flush=True)
"""


def run(fault: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("EARSHOT_FAULT", None)
    if fault is not None:
        env["EARSHOT_FAULT"] = fault
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60)


def test_a_kill_point_kills_at_its_nth_hit_with_sigkill():
    done = run("turn_end:3")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["1", "2"]  # killed at the third turn_end, before printing 3


def test_unarmed_or_other_points_do_nothing():
    for fault in (None, "", "model_block:1", "turn_end:9"):
        done = run(fault)
        assert done.returncode == 0 and done.stdout.split() == ["1", "2", "3", "4", "5"], (fault, done.stderr)


def test_every_point_named_in_the_code_is_listed():
    import re

    from assistant.faults import POINTS

    used = set()
    for path in (ROOT / "assistant").rglob("*.py"):
        used |= set(re.findall(r'faults\.point\("([a-z_]+)"\)', path.read_text()))
    assert used == set(POINTS)
