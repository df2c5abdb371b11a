"""What the project tools (assistant/audio_models/track.py, clip.py, …) share: opening the session's
project, turning artifacts into clip sources, and the reply that names every numbered change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import EarshotError
from ..project.describe import describe
from ..project.store import Change, Project
from ..store.session import Artifact

if TYPE_CHECKING:
    from .base import ToolContext, ToolResult

MIDI_SUFFIXES = {".mid", ".midi"}
AUDIO_KINDS = {"audio", "input"}


def project_of(ctx: ToolContext) -> Project:
    return Project(ctx.session)


def is_midi(artifact: Artifact) -> bool:
    return artifact.kind == "midi" or Path(artifact.name).suffix.lower() in MIDI_SUFFIXES


def source_of(artifact: Artifact, ctx: ToolContext) -> dict:
    """A clip's reference to its file: enough to render and export it without the session."""
    if artifact.kind not in AUDIO_KINDS and not is_midi(artifact):
        raise EarshotError(
            f"{artifact.ref} ({artifact.name}) is {artifact.kind}, not audio or MIDI", "place an audio or MIDI file"
        )
    src = {"artifact": artifact.num, "path": str(artifact.path), "name": artifact.name, "sha256": artifact.sha256}
    if not is_midi(artifact):
        info = ctx.probe(artifact)
        src.update(duration_s=info.duration_s, sample_rate_hz=info.sample_rate_hz, channels=info.channels)
    return src


def source_tempo(artifact: Artifact) -> float | None:
    """The tempo a file was made at, when its maker recorded it (compose, an earlier render)."""
    for key in ("tempo_bpm", "bpm", "tempo"):
        value = artifact.meta.get(key)
        if isinstance(value, (int, float)) and 20 <= value <= 400:
            return float(value)
    return None


def changes_text(changes: list[Change]) -> str:
    done = [c for c in changes if c.kind != "noop"]
    same = [c for c in changes if c.kind == "noop"]
    text = "; ".join(f"#{c.seq} {c.label}" for c in done)
    if same:
        text += ("; " if text else "") + "; ".join(c.label for c in same)
    return text


def result(lead: str, changes: list[Change], project: Project, extra: dict | None = None) -> ToolResult:
    from .base import ToolResult

    done = [c for c in changes if c.kind != "noop"]
    text = changes_text(changes)
    summary = f"{lead}: {text}." if text else f"{lead}."
    if len(done) > 1:
        summary += f' Any one can be taken back: "undo change {done[-1].seq}".'
    data = {"changes": [{"seq": c.seq, "label": c.label} for c in done], "project": describe(project.state(), 0)}
    data.update(extra or {})
    return ToolResult(summary, [], data)
