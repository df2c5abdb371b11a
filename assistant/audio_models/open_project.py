"""open_project: load a DAWproject file (.dawproject from Bitwig Studio, Studio One, Cubase or
Earshot) into the session's project, replacing it (undo brings the old one back).

The file is read as untrusted data (project/dawproject.py: bounded unzip, no DTDs or entities, every
value checked). Its audio files become new artifacts only after the whole project was understood,
each written under a temporary name and renamed into place once it is checked as audio; a project
that fails leaves no file and no artifact behind."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import BadAudio, EarshotError
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
    timeout_s=300,
    max_memory_mb=2048,
)


def run(args: Args, ctx: ToolContext) -> ToolResult:
    if Path(args.file.name).suffix.lower() != ".dawproject" and args.file.kind != "dawproject":
        raise EarshotError(f"{args.file.name} is not a .dawproject file", "export one from your DAW (File → Export)")
    stem = Path(args.file.name).stem
    written: dict[str, tuple[Path, object]] = {}  # final path → (path, AudioInfo), registered at the end

    def store_file(zip_path: str, blob: bytes) -> dict:
        # each audio file of the project becomes a new file in the workspace (never overwriting)
        from ..audio.files import probe

        ctx.check_cancelled()
        name = Path(zip_path).name
        suffix = Path(name).suffix or ".wav"
        scratch = ctx.session.scratch_path(suffix)  # written whole, then named (a crash leaves no half file)
        try:
            scratch.write_bytes(blob)
            try:
                info = probe(scratch, ctx.config.limits)  # an "audio" file in the zip that is not audio is refused
            except BadAudio as exc:
                what = exc.message.replace(scratch.name, repr(zip_path), 1)
                raise BadAudio(f"{args.file.name}: the project's {what}", "export the project again") from None
            path = ctx.session.publish(scratch, f"{stem}-{Path(name).stem}", suffix)
        finally:
            scratch.unlink(missing_ok=True)
        written[str(path.resolve())] = (path, info)
        return {
            "artifact": None,
            "path": str(path.resolve()),
            "name": name,
            "sha256": "",
            "duration_s": info.duration_s,
            "sample_rate_hz": info.sample_rate_hz,
            "channels": info.channels,
        }

    ctx.progress(0.05, "reading the project")
    try:
        state, notes = import_dawproject(
            args.file.path,
            store_file,
            name=stem,
            max_total_bytes=ctx.config.limits.max_file_bytes,
            label=args.file.name,
        )
        ctx.check_cancelled()
    except BaseException:
        for path, _ in written.values():  # nothing of a project that failed stays behind
            path.unlink(missing_ok=True)
        raise
    # Only now, with the whole project understood, do its audio files become artifacts.
    arts = {}
    for key, (path, info) in written.items():
        arts[key] = ctx.session.add_artifact(
            path,
            "audio",
            tool=SPEC.name,
            tool_run_id=ctx.tool_run_id,
            parents=(args.file.ref,),
            duration_s=info.duration_s,
            sample_rate_hz=info.sample_rate_hz,
            channels=info.channels,
        )
    for c in state["clips"].values():
        src = c.get("source") or {}
        if src.get("path") in arts:
            src.update(artifact=arts[src["path"]].num, sha256=arts[src["path"]].sha256)
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
        shown = notes[:12]
        more = f"; and {len(notes) - 12} more (`earshot history --json` lists them)" if len(notes) > 12 else ""
        res.summary += " Not kept: " + "; ".join(shown) + more + "."
    res.data["not_kept"] = notes
    return res
