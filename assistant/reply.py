"""Response generation: a plan and what its steps did → the reply text (shown) and speech (spoken).

Replies are composed from templates, not generated: they must state exactly what was done, with
the artifact ids, paths and durations, and they must never invent a result. The spoken form
leaves out paths (nobody wants a path read aloud).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import EarshotError
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


def acknowledgement(steps, registry, session=None) -> str:
    """What a command turn says the moment its plan exists, while the tools run: the action named with
    its object ("Removing the noise from memo.wav, then writing down what it says."), never a filler.
    `steps` are plan steps (`.tool`, `.args`); each tool's SPEC.doing gives its phrase."""
    phrases = []
    for step in steps:
        doing = registry.get(step.tool).spec.doing if step.tool in registry else ""
        if not isinstance(doing, str):
            doing = doing.get(str(step.args.get("op", "")), "") or next(iter(doing.values()), "")
        values = _Spoken(step.args, session)
        phrases.append(doing.format_map(values) if doing else f"running {step.tool.replace('_', ' ')}")
    if not phrases:
        return ""
    text = ", then ".join(phrases)
    return text[0].upper() + text[1:] + "."


class _Spoken(dict):
    """A step's arguments as they are said: a file by its name, `$1` as "it", `@last` as "the last file"."""

    def __init__(self, args: dict, session) -> None:
        super().__init__()
        self.args, self.session = args, session

    def __missing__(self, key: str) -> str:
        value = self.args.get(key)
        if value is None or value == "":
            return {"track": "the track", "file": "the file", "effect": "the effect"}.get(key, key.replace("_", " "))
        if isinstance(value, list):
            return " and ".join(str(v).replace("_", " ") for v in value)
        text = str(value)
        if text.startswith("$"):
            return "it"  # the previous step's output
        if text == "@last":
            return "the last file"
        if text.startswith("@a") and self.session is not None:
            try:
                return self.session.artifact(int(text[2:])).name
            except (ValueError, EarshotError):
                return text
        return text.replace("_", " ")
