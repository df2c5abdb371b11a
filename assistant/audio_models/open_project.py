"""open_project: load a DAWproject file (.dawproject from Bitwig Studio, Studio One, Cubase or
Earshot) into the session's project, replacing it (undo brings the old one back)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import EarshotError
from ..project.dawproject import import_dawproject
from ..store.session import Artifact
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import project_of, result


@dataclass
class Args:
    file: Artifact


SPEC = ToolSpec(
    name="open_project",
    doing="opening {file}",
    summary="open a .dawproject file as the project",
    examples=("open song.dawproject", "import the project from bitwig-export.dawproject", "load @a5 as the project"),
    method="project import: DAWproject 1.0 XML reader (validated against the official schema)",
    learned=False,
    licence="GPL-3.0-or-later; DAWproject schema MIT",
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    if Path(args.file.name).suffix.lower() != ".dawproject" and args.file.kind != "dawproject":
        raise EarshotError(f"{args.file.name} is not a .dawproject file", "export one from your DAW (File → Export)")
    stem = Path(args.file.name).stem

    def store_file(zip_path: str, blob: bytes) -> dict:
        # each audio file of the project becomes a new artifact in the workspace (never overwriting)
        name = Path(zip_path).name
        suffix = Path(name).suffix or ".wav"
        scratch = ctx.session.scratch_path(suffix)  # written whole, then named (a crash leaves no half file)
        try:
            scratch.write_bytes(blob)
            path = ctx.session.publish(scratch, f"{stem}-{Path(name).stem}", suffix)
        finally:
            scratch.unlink(missing_ok=True)
        from ..audio.files import probe

        info = probe(path, ctx.config.limits)
        art = ctx.session.add_artifact(
            path,
            "audio",
            tool=SPEC.name,
            tool_run_id=ctx.tool_run_id,
            parents=(args.file.ref,),
            duration_s=info.duration_s,
            sample_rate_hz=info.sample_rate_hz,
            channels=info.channels,
        )
        return {
            "artifact": art.num,
            "path": str(art.path),
            "name": name,
            "sha256": art.sha256,
            "duration_s": info.duration_s,
            "sample_rate_hz": info.sample_rate_hz,
            "channels": info.channels,
        }

    state, notes = import_dawproject(args.file.path.read_bytes(), store_file, name=stem)
    project = project_of(ctx)
    label = (
        f"opened {args.file.name} ({len(state['tracks'])} tracks, {len(state['clips'])} clips, "
        f"{state['tempo_bpm']:g} BPM)"
    )
    with project.changes(ctx.tool_run_id) as tx:
        state["sample_rate_hz"] = tx.state.get("sample_rate_hz", state["sample_rate_hz"])
        changes = [tx.apply("replace_project", new=state, label=label)]
    res = result("Project replaced (undo brings the previous one back)", changes, project)
    if notes:
        res.summary += " Not kept: " + "; ".join(notes[:5]) + ("…" if len(notes) > 5 else "") + "."
    return res
