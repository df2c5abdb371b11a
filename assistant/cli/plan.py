"""`earshot plan "…" [--json]`: the plan for a request, validated, with nothing run."""

from __future__ import annotations

import json
import sys

from .common import config_for, open_session


def run(args) -> int:
    from ..audio_models.registry import default_registry

    config = config_for(args)
    session = open_session(config, args)
    registry = default_registry()
    outcome = None
    if config.planner.command_path:  # the command path first: a command it parses never loads the LLM
        from ..llm.commands import command_path

        outcome = command_path(registry).plan(args.text, session, config.paths.allowed_roots, config.planner.max_steps)
    if outcome is None:
        from ..llm.planner import load_planner

        planner = load_planner(config, registry, args.llm)
        planner.warm()
        outcome = planner.plan(args.text, session, config.paths.allowed_roots)
    attempts = [
        {"raw": a.raw, "error": a.error, "plan_ms": round(a.plan_ms, 1), "completion_tokens": a.completion_tokens}
        for a in outcome.attempts
    ]
    if args.json:
        print(
            json.dumps(
                {
                    "type": "plan",
                    "valid": outcome.plan is not None,
                    "planner": outcome.planner,
                    "plan": outcome.plan.to_json() if outcome.plan else None,
                    "attempts": attempts,
                }
            )
        )
    elif outcome.plan:
        print(json.dumps(outcome.plan.to_json(), indent=2))
    else:
        print(f"earshot: no valid plan: {outcome.attempts[-1].error}", file=sys.stderr)
    return 0 if outcome.plan else 1
