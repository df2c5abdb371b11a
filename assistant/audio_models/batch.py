"""batch: apply one tool to many files — a library folder, a workspace folder, or what `find` just found.

"denoise every file in field-recordings", "normalise all the vocal takes to -16 LUFS": one step maps
the action over the file set. Inputs are only read (never touched); every output goes into a new
folder of the session workspace, keeping the files' relative paths. A file that fails is reported
with its reason and the rest go on; Esc/Ctrl+C stops between files and keeps what is done.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import EarshotError
from .base import ToolContext, ToolResult, ToolSpec

Action = Literal["denoise", "normalize", "gain", "effects", "convert"]
MAX_FILES = 2000
LISTED = 20  # outputs handed back as the step's artifacts (all of them are in the session)


@dataclass
class Args:
    action: Action = field(metadata={"doc": "what to do to every file"})
    folder: str = field(
        default="", metadata={"max_length": 80, "doc": "a library or workspace folder; empty: the files find found"}
    )
    name_contains: str = field(default="", metadata={"max_length": 40, "doc": "only files whose path contains this"})
    target_lufs: float = field(default=-16.0, metadata={"min": -40, "max": -5, "doc": "normalize: loudness"})
    gain_db: float = field(default=0.0, metadata={"min": -60, "max": 24})
    chain: str = field(default="", metadata={"max_length": 200, "doc": "effects: a chain like effects takes"})
    format: Literal["wav", "flac"] = "wav"
    strength: float = field(default=1.0, metadata={"min": 0.0, "max": 1.0, "doc": "denoise strength"})


SPEC = ToolSpec(
    name="batch",
    doing="applying {action} to each file",
    summary="apply denoise, normalize, gain, effects or convert to every file of a folder, or to the found files",
    examples=(
        "denoise every file in field-recordings",
        "normalise all the vocal takes to -16 LUFS",
        "convert everything I found to flac",
    ),
    method="the tools' own methods per file: DeepFilterNet3 (learned) for denoise; pyloudnorm, numpy and "
    "pedalboard (signal processing) for normalize, gain, effects and convert",
    learned=True,
    licence="MIT / Apache-2.0 (DeepFilterNet3); MIT (pyloudnorm); GPL-3.0 (pedalboard)",
    # one action over a whole folder: each file is bounded by its own tool's limits, the batch by these
    timeout_s=4 * 3600,
    max_memory_mb=4096,
)


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def select_files(args: Args, ctx: ToolContext) -> tuple[list[Path], Path | None, str]:
    """(files, the root their output paths are relative to, what the set is called)."""
    from .find import LAST_FIND

    want, part = _norm(args.folder), _norm(args.name_contains)
    if not want:
        if part:
            files = [p for p in _workspace_audio(ctx.session.workspace) if part in _norm(str(p))]
            if files:
                return files, ctx.session.workspace, f"the workspace files named like {args.name_contains!r}"
        last = ctx.session.workspace / LAST_FIND
        if not last.is_file():
            raise EarshotError("there are no found files to work on", "find files first, or name a folder")
        files = [Path(p) for p in json.loads(last.read_text(encoding="utf-8")) if Path(p).is_file()]
        files = [p for p in files if not part or part in _norm(str(p))]
        return files, None, "the files found"
    files: list[Path] = []
    root = None
    if ctx.config.paths.library_path.is_file():
        from ..library.index import LibraryIndex

        index = LibraryIndex(ctx.config.paths.library_path)
        try:
            rows = index.db.execute("SELECT path, root, folder FROM files WHERE status='ok' ORDER BY path").fetchall()
        finally:
            index.close()
        for r in rows:
            if want in _norm(r["folder"]) or (not r["folder"] and want in _norm(Path(r["root"]).name)):
                if not part or part in _norm(r["path"]):
                    files.append(Path(r["path"]))
                    root = Path(r["root"])
    if not files:
        for p in _workspace_audio(ctx.session.workspace):
            rel = p.relative_to(ctx.session.workspace)
            if want in _norm(str(rel.parent)) and (not part or part in _norm(str(rel))):
                files.append(p)
        root = ctx.session.workspace
    if not files:
        raise EarshotError(
            f"no audio files in a folder named like {args.folder!r}",
            "`earshot library status` lists the library's folders; or name a workspace folder",
        )
    return files, root, f"the files in {args.folder}"


def _workspace_audio(workspace: Path) -> list[Path]:
    from ..library.scan import audio_files

    return audio_files(workspace)


def _output_dir(ctx: ToolContext, stem: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "batch"
    for n in range(1, 1000):
        d = ctx.session.workspace / (safe if n == 1 else f"{safe}-{n}")
        try:
            d.mkdir(parents=True)
            return d
        except FileExistsError:
            continue
    raise EarshotError(f"cannot find a free folder name for {safe}", "clean up the workspace")


def _process(args: Args, audio: np.ndarray, rate: int, name: str, ctx: ToolContext, model) -> np.ndarray:
    if args.action == "denoise":
        from .denoise import denoise_audio

        return denoise_audio(audio, rate, model, args.strength)
    if args.action in ("normalize", "gain"):
        from . import edit

        op = edit.normalize if args.action == "normalize" else edit.gain
        eargs = edit.Args(op=args.action, file=None, target_lufs=args.target_lufs, gain_db=args.gain_db)
        return op(audio, rate, eargs, name)[0]
    if args.action == "effects":
        from .effects import apply_chain, parse_chain

        if not args.chain.strip():
            raise EarshotError("effects needs a chain", 'say which effects, e.g. "highpass 100, compressor"')
        return apply_chain(audio, rate, parse_chain(args.chain))
    return audio  # convert: the format changes on writing


def run(args: Args, ctx: ToolContext) -> ToolResult:
    from ..audio.files import load_audio, write_audio

    files, root, called = select_files(args, ctx)
    if len(files) > MAX_FILES:
        raise EarshotError(
            f"{called} are {len(files)} files, more than {MAX_FILES} in one batch", "name a smaller folder"
        )
    if args.action == "effects":
        from .effects import parse_chain

        parse_chain(args.chain)  # a bad chain fails before any file is touched
    model = ctx.model_path(ctx.config.models.denoiser) if args.action == "denoise" else None
    out_dir = _output_dir(ctx, f"{args.action}-{args.folder or 'found'}")
    done, failed = [], []
    for n, src in enumerate(files):
        ctx.progress(n / len(files), f"{args.action} {n + 1}/{len(files)}: {src.name}")
        try:
            audio, rate = load_audio(src, mono=False, limits=ctx.config.limits)
            out = _process(args, audio, rate, src.name, ctx, model).astype(np.float32)
            rel = src.relative_to(root) if root is not None and src.is_relative_to(root) else Path(src.name)
            dest = (out_dir / rel).with_suffix(f".{args.format}")
            while dest.exists():  # two found files with one name (from different folders)
                dest = dest.with_name(f"{dest.stem}-{n}{dest.suffix}")
            dest.parent.mkdir(parents=True, exist_ok=True)
            info = write_audio(dest, out if out.shape[1] > 1 else out[:, 0], rate, args.format)
        except EarshotError as exc:
            failed.append((src, exc.message))
            continue
        done.append(
            ctx.session.add_artifact(
                dest,
                "audio",
                tool=SPEC.name,
                tool_run_id=ctx.tool_run_id,
                duration_s=info.duration_s,
                sample_rate_hz=info.sample_rate_hz,
                channels=info.channels,
                meta={"source": str(src), "action": args.action},
                name=str(dest.relative_to(ctx.session.workspace)),
            )
        )
    ctx.progress(1.0, "done")
    method = {
        "denoise": "DeepFilterNet3",
        "normalize": f"to {args.target_lufs:g} LUFS (pyloudnorm, signal processing)",
        "gain": f"{args.gain_db:+g} dB (signal processing)",
        "effects": f"{args.chain} (pedalboard, signal processing)",
        "convert": f"to {args.format.upper()}",
    }[args.action]
    summary = (
        f"Batch {args.action} {method} on {called}: {len(done)} of {len(files)} done → {out_dir.name}/"
        " (the inputs are untouched)."
    )
    if failed:
        reasons = "; ".join(f"{p.name}: {why}" for p, why in failed[:5])
        summary += f" {len(failed)} failed: {reasons}" + (" …" if len(failed) > 5 else "") + "."
    if len(done) > LISTED:
        summary += f" The first {LISTED} are listed; all {len(done)} are in {out_dir}."
    return ToolResult(
        summary,
        done[:LISTED],
        {
            "folder": str(out_dir),
            "done": [str(a.path) for a in done],
            "failed": [{"file": str(p), "error": why} for p, why in failed],
        },
    )
