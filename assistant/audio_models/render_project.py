"""render_project: mix the project down to one file, render each track as a stem, or export it as a
DAWproject (.dawproject, opens in Bitwig Studio, Studio One, Cubase…) or a standard MIDI file."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from ..audio.files import load_audio
from ..errors import EarshotError
from ..project import dawproject, mixdown
from ..project.midi import export_midi
from ..project.model import tracks_in_order
from .base import ToolContext, ToolResult, ToolSpec
from .project_edit import project_of


@dataclass
class Args:
    op: Literal["mixdown", "stems", "dawproject", "midi"] = field(
        default="mixdown", metadata={"doc": "one mixed file, one file per track, a .dawproject or a .mid file"}
    )
    format: Literal["wav", "flac"] = "wav"


SPEC = ToolSpec(
    name="render_project",
    doing={
        "mixdown": "rendering the mix",
        "stems": "rendering the stems",
        "dawproject": "exporting the project",
        "midi": "exporting the MIDI",
    },
    summary="render the project to an audio file (mixdown) or stems, or export it as .dawproject or MIDI",
    examples=(
        "render the song",
        "bounce the mix to flac",
        "export the stems",
        "export the project for Bitwig",
        "save the project as a dawproject",
        "export the midi",
    ),
    method="signal processing: sample-accurate mixing, pedalboard chains, a look-ahead limiter; "
    "DAWproject 1.0 XML validated against the official schema",
    learned=False,
    licence="GPL-3.0 (pedalboard); DAWproject schema MIT",
    timeout_s=900,
    max_memory_mb=3072,
)


def _parents(ctx: ToolContext, state: dict) -> list:
    found = {}
    for c in state["clips"].values():
        num = (c.get("source") or {}).get("artifact")
        if num and num not in found:
            try:
                found[num] = ctx.session.artifact(num)
            except EarshotError:
                pass
    return [found[k] for k in sorted(found)][:32]


def _loader(ctx: ToolContext):
    def load(source: dict):
        if source.get("offline") or not source.get("path"):
            # audio that was not inside an imported project: the clip plays as silence (the reply says so)
            return np.zeros((1, int(source.get("channels") or 1)), np.float32), int(
                source.get("sample_rate_hz") or 44100
            )
        path = Path(source["path"])
        if not path.exists():
            raise EarshotError(
                f"the file of clip source {source['name']!r} is gone ({path})",
                "restore it, or delete the clips that use it",
            )
        return load_audio(path, mono=False, limits=ctx.config.limits)

    return load


def _offline_note(state: dict) -> str:
    names = sorted({c["name"] for c in state["clips"].values() if (c.get("source") or {}).get("offline")})
    if not names:
        return ""
    return (
        f" {len(names)} offline clip(s) played as silence (their audio was not in the imported file): "
        + ", ".join(repr(n) for n in names[:5])
        + "."
    )


def run(args: Args, ctx: ToolContext) -> ToolResult:
    project = project_of(ctx)
    if not project.exists:
        raise EarshotError("there is no project yet", "place a file on a track first")
    state = project.state()
    head_seq = project.log(1)[-1]["seq"]
    stem_name = "".join(ch if ch.isalnum() else "-" for ch in state["name"]).strip("-").lower() or "project"
    parents = _parents(ctx, state)
    if args.op == "dawproject":
        ctx.progress(0.1, "writing project.xml")
        data = dawproject.export_dawproject(state)
        art = ctx.new_file_artifact(
            data, stem_name, ".dawproject", "dawproject", parents=parents, meta={"project_seq": head_seq}
        )
        return ToolResult(
            f"Exported the project as DAWproject 1.0 ({len(state['tracks'])} tracks, "
            f"{len(state['clips'])} clips, validated against the schema) → {art.name}.",
            [art],
            {"project_seq": head_seq},
        )
    if args.op == "midi":
        art = ctx.new_file_artifact(
            export_midi(state),
            stem_name,
            ".mid",
            "midi",
            parents=parents,
            meta={"tempo_bpm": state["tempo_bpm"], "project_seq": head_seq},
        )
        return ToolResult(
            f"Exported the project's MIDI tracks as a standard MIDI file → {art.name}.",
            [art],
            {"project_seq": head_seq},
        )
    started = time.perf_counter()
    render = mixdown.render(state, _loader(ctx), lambda f, m: ctx.progress(0.9 * f, m), stems=args.op == "stems")
    elapsed = time.perf_counter() - started
    seconds = render.audio.shape[0] / render.sample_rate_hz
    meta = {"tempo_bpm": state["tempo_bpm"], "project_seq": head_seq, "render_s": round(elapsed, 3)}
    speed = f"{seconds / max(elapsed, 1e-6):.0f}× real time"
    if args.op == "stems":
        arts = []
        names = {t["id"]: t["name"] for t in tracks_in_order(state)}
        for n, (tid, audio) in enumerate(render.stems.items(), 1):
            ctx.progress(0.9 + 0.1 * n / len(render.stems), f"writing stem {names[tid]}")
            arts.append(
                ctx.new_audio_artifact(
                    audio,
                    render.sample_rate_hz,
                    f"{stem_name}-stem-{names[tid]}",
                    parents=parents,
                    fmt=args.format,
                    meta=dict(meta, track=names[tid]),
                )
            )
        return ToolResult(
            f"Rendered {len(arts)} stems ({seconds:.1f} s each, {speed}; signal processing).{_offline_note(state)}",
            arts,
            {"render_s": round(elapsed, 3), "rtf": round(elapsed / seconds, 4)},
        )
    ctx.progress(0.95, "writing the mix")
    art = ctx.new_audio_artifact(
        render.audio, render.sample_rate_hz, f"{stem_name}-mix", parents=parents, fmt=args.format, meta=meta
    )
    peak = float(abs(render.audio).max())
    return ToolResult(
        f"Rendered the mixdown ({seconds:.1f} s, peak {20 * __import__('math').log10(max(peak, 1e-9)):.1f} dBFS, "
        f"{speed}; signal processing) → {art.name}.{_offline_note(state)}",
        [art],
        {"render_s": round(elapsed, 3), "rtf": round(elapsed / seconds, 4)},
    )
