#!/usr/bin/env python3
"""Maintainer tool: write the README's table of tools from the registry (name, what it does, the
method behind it — learned model or signal processing — and its licence).

    python scripts/tools_table.py          rewrite the table between the README's tools markers
    python scripts/tools_table.py --check  exit 1 when the README's table is out of date (a unit test runs this)
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
README = ROOT / "README.md"
BEGIN, END = "<!-- tools-table -->", "<!-- /tools-table -->"


def table() -> str:
    from assistant.audio_models.registry import default_registry

    rows = ["| tool | what it does | method | kind | licence |", "|---|---|---|---|---|"]
    for tool in default_registry():
        spec = tool.spec
        kind = "learned model" if spec.learned else "signal processing"
        rows.append(f"| `{spec.name}` | {spec.summary} | {spec.method} | {kind} | {spec.licence} |")
    return "\n".join(rows)


def render(readme: str) -> str:
    if BEGIN not in readme:
        raise SystemExit(f"README.md has no {BEGIN} marker")
    head, rest = readme.split(BEGIN, 1)
    tail = rest.split(END, 1)[1] if END in rest else rest
    return f"{head}{BEGIN}\n{table()}\n{END}{tail}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the README is up to date")
    args = ap.parse_args()
    current = README.read_text(encoding="utf-8")
    wanted = render(current)
    if args.check:
        if wanted != current:
            print("README.md's tools table is out of date: run python scripts/tools_table.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
