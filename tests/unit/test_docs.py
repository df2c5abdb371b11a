"""The README's tools table is generated from the registry, so it cannot drift from what the planner sees."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_readme_tools_table_matches_the_registry():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "tools_table.py"), "--check"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_every_tool_states_its_method_and_licence():
    from assistant.audio_models.registry import default_registry

    for tool in default_registry():
        spec = tool.spec
        assert spec.method and spec.licence, spec.name
        if not spec.learned and not spec.edits_project:
            assert "signal processing" in spec.method.lower(), spec.name
