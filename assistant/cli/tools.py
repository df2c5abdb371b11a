"""`earshot tools [--json]`: what Earshot can do, with each tool's arguments."""

from __future__ import annotations

import json


def run(args) -> int:
    from ..audio_models.registry import default_registry
    from ..llm.prompts import tool_line
    from ..llm.schema import args_schema, strip_extensions

    registry = default_registry()
    if args.json:
        out = [
            {
                "name": t.name,
                "summary": t.spec.summary,
                "method": t.spec.method,
                "learned": t.spec.learned,
                "licence": t.spec.licence,
                "examples": list(t.spec.examples),
                "args": strip_extensions(args_schema(t.args_type)),
            }
            for t in registry
        ]
        print(json.dumps(out, indent=1))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Earshot tools", show_lines=False)
    for col in ("tool", "what it does", "method", "arguments"):
        table.add_column(col)
    for t in registry:
        signature = tool_line(t).split("(", 1)[1].rsplit("):", 1)[0]
        method = t.spec.method + (
            "" if t.spec.learned or "signal processing" in t.spec.method else " (signal processing)"
        )
        table.add_row(t.name, t.spec.summary, method, signature)
    Console().print(table)
    return 0
