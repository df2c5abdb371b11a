"""Response generation: a plan and what its steps did → the reply text (shown) and speech (spoken).

Replies are composed from templates, not generated: they must state exactly what was done, with
the artifact ids, paths and durations, and they must never invent a result. The spoken form
leaves out paths (nobody wants a path read aloud).
"""

from __future__ import annotations

from dataclasses import dataclass

from .executor import ExecutionReport
from .llm.plan import Plan
from .store.session import Artifact


@dataclass(frozen=True)
class ComposedReply:
    text: str  # printed: names every artifact with its path and duration
    spoken: str  # spoken: the same without paths


def _artifact_line(a: Artifact) -> str:
    facts = [a.kind]
    if a.duration_s is not None:
        facts.append(f"{a.duration_s:.1f} s")
    if a.sample_rate_hz:
        facts.append(f"{a.sample_rate_hz / 1000:g} kHz")
    return f"  {a.ref} {a.name} ({', '.join(facts)}) → {a.path}"


def compose(plan: Plan | None, report: ExecutionReport | None, registry) -> ComposedReply:
    lines: list[str] = []
    spoken: list[str] = []
    # With steps, the reply is what the tools report; a planner's "say" written before anything ran
    # could only guess at results, so it is shown for conversation and clarifying questions only.
    if plan and plan.say and not plan.steps:
        lines.append(plan.say)
        spoken.append(plan.say)
    if report:
        for step in report.steps:
            if step.status == "ok" and step.result:
                summary = step.result.summary.strip()
                tool = registry.get(step.tool)
                # a signal-processing method says so; a project edit, undo or summary processes no audio
                if not tool.spec.learned and "signal processing" not in summary.lower() and not tool.spec.edits_project:
                    summary += " (signal processing, not a learned model)"
                lines.append(summary)
                spoken.append(summary)
            else:
                err = step.error
                what = f"Step {step.step} ({step.tool}) {'was interrupted' if step.status == 'cancelled' else 'failed'}"
                detail = f": {err.message}" if err else ""
                hint = f" — {err.hint}" if err and err.hint else ""
                lines.append(f"{what}{detail}{hint}")
                spoken.append(f"{what}{detail}.")
                if report.artifacts:
                    lines.append("The files made before that are kept.")
        artifacts = report.artifacts
        if artifacts:
            # Files found in the sample library are the library's own files, not new ones.
            lines.append("Files:" if all(a.meta.get("library") for a in artifacts) else "New files:")
            lines.extend(_artifact_line(a) for a in artifacts)
    if not lines:
        lines = spoken = ["Done."]
    return ComposedReply("\n".join(lines), " ".join(s if s.endswith((".", "!", "?")) else s + "." for s in spoken))
