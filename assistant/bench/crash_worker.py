"""The process `earshot bench crash` kills: real turns on the one turn path, or a model install.

The fork server of the crash bench imports this module once (the heavy imports below are on purpose:
scipy, the tools, pedalboard), so each trial's process starts in milliseconds instead of seconds.
A trial's process runs `Assistant.ask` with a canned plan — exactly what `earshot ask --plan` runs:
the turn recorded, the plan recorded, the steps in worker threads, artifacts written and registered,
the project edited, the reply recorded — and tells the bench, over a pipe, everything it *reported as
done*: each reply (with its turn id), each finished tool (its artifacts, the project changes it
made), each finished model install. What it reported is what the bench then holds the stores to.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio_models.registry import default_registry
from ..config import EarshotConfig, PathOptions
from ..errors import EarshotError
from ..events import Event, Reply, ToolFinished, ToolStarted, TurnStarted
from ..pipeline import Assistant
from ..project import Project
from ..runtime.models import ModelStore
from ..store.session import SessionStore

default_registry()  # every tool module imported now, in the fork server
for _lazy in ("pedalboard", "soxr", "pyloudnorm", "pretty_midi"):  # what the tools import when they run
    try:
        __import__(_lazy)
    except ImportError:
        pass

INSTALL_MODEL = "hibari-heart"  # 7.9 MB from the installed hibari-tts package: two 4 MB blocks


def config_for(home: Path) -> EarshotConfig:
    # The home's own (empty) model store: no tool of the crash plans needs a model.
    return EarshotConfig(paths=PathOptions(home_dir=home, models_dir=home / "models"))


def make_inputs(workspace: Path) -> None:
    """Two short recordings the turns work on (stereo drum-like bursts, a chord)."""
    rate = 44_100
    rng = np.random.default_rng(7)
    t = np.arange(int(rate * 2.0)) / rate
    hits = np.exp(-30 * (t % 0.5))[:, None] * rng.standard_normal((len(t), 2)) * 0.3
    sf.write(workspace / "loop.wav", hits.astype(np.float32), rate, subtype="FLOAT")
    t = np.arange(int(rate * 3.0)) / rate
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) * 0.15 * np.minimum(1, t * 4)
    sf.write(workspace / "pad.wav", chord.astype(np.float32), rate, subtype="FLOAT")


def _plan(*steps: tuple[str, dict]) -> str:
    import json

    return json.dumps({"say": None, "steps": [{"tool": t, "args": a} for t, a in steps]})


# The requests a trial's turns are drawn from: name → (weight, text, steps). Steps are plan steps.
def _requests(rng: random.Random) -> dict[str, tuple[float, str, list]]:
    gain = rng.choice([-6.0, -3.0, 2.0])
    return {
        "place_pad": (
            0.12,
            "put pad.wav on the pads",
            [("clip", {"op": "place", "file": "pad.wav", "track": "pads", "at": rng.randrange(0, 4), "unit": "bars"})],
        ),
        "track_gain": (
            0.10,
            "the drums a bit louder",
            [("track", {"op": "gain", "track": "drums", "gain_db": rng.choice([-1.0, 1.0])})],
        ),
        "reverb": (
            0.08,
            "reverb on the drums",
            [("track_effect", {"op": "add", "effect": "reverb", "track": "drums"})],
        ),
        "vibe": (0.06, "make it warmer", [("vibe", {"descriptor": "warmer"})]),
        "undo": (0.08, "undo that", [("project_undo", {"op": "undo"})]),
        "mixdown": (0.12, "mix it down", [("render_project", {"op": "mixdown"})]),
        "stems": (
            0.08,
            "export the stems",
            [("render_project", {"op": "stems", "format": rng.choice(["wav", "flac"])})],
        ),
        "dawproject": (0.08, "export a dawproject", [("render_project", {"op": "dawproject"})]),
        "edit": (0.10, f"loop.wav {gain:+g} dB", [("edit", {"op": "gain", "file": "loop.wav", "gain_db": gain})]),
        "rain": (
            0.08,
            "some rain, then fade it",
            [
                ("generate_sound", {"layers": ["rain"], "duration_s": 2.0, "seed": rng.randrange(0, 9999)}),
                ("edit", {"op": "fade", "file": "$1", "fade_in_s": 0.3, "fade_out_s": 0.3}),
            ],
        ),
        "flac": (
            0.10,
            "a quieter copy of pad.wav as flac",
            [("edit", {"op": "gain", "file": "pad.wav", "gain_db": -4.0, "format": "flac"})],
        ),
    }


# A request that surely reaches each kill point (the first turn of a trial armed for it).
REACHES = {
    "tool_progress": "mixdown",
    "artifact_write": "edit",
    "artifact_publish": "flac",
    "artifact_register": "rain",
    "project_op": "vibe",
    "project_commit": "track_gain",
    "mixdown": "stems",
    "export": "dawproject",
}


def choose_turns(rng: random.Random, state: dict, n: int, first: str | None = None) -> list[tuple[str, str]]:
    """`n` requests (text, plan JSON) that suit the project as it is, `first` (a name of `_requests`)
    first. Bounded, so a long campaign keeps a small project: clips and effects are taken away once
    there are a few."""
    clips = sorted(state.get("clips", {}), key=lambda c: int(c[1:]))
    tracks = {t["name"] for t in state.get("tracks", {}).values()}
    fx = sum(len(t["effects"]) for t in state.get("tracks", {}).values())
    fx += len(state.get("master", {}).get("effects", {}))
    out: list[tuple[str, str]] = []
    while len(out) < n:
        requests = _requests(rng)
        if not clips or "drums" not in tracks:
            place = [("clip", {"op": "place", "file": "loop.wav", "track": "drums", "at": 0, "unit": "bars"})]
            out.append(("put loop.wav on the drums", _plan(*place)))
            clips.append("c?")
            tracks.add("drums")
            continue
        if len(clips) > 5 and clips[0] != "c?":
            out.append((f"delete {clips[0]}", _plan(("clip", {"op": "delete", "clip": clips.pop(0)}))))
            continue
        if fx > 6:
            out.append(("undo the last two", _plan(("project_undo", {"op": "undo", "steps": 2}))))
            fx -= 3
            continue
        if first is not None:
            name, first = first, None
        else:
            names = list(requests)
            name = rng.choices(names, weights=[requests[k][0] for k in names])[0]
        _, text, steps = requests[name]
        out.append((text, _plan(*steps)))
        clips += ["c?"] if name == "place_pad" else []
        fx += {"reverb": 1, "vibe": 2}.get(name, 0)
    return out


def run_job(home: str, session_id: str, job: dict, conn) -> None:
    """One trial's process: `job` is {"kind": "turns", "turns": n, "seed": s} or {"kind": "install"};
    `job["fault"]` (if any) arms a kill point for this process only."""
    log = os.open(Path(home) / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    if job.get("fault"):
        os.environ["EARSHOT_FAULT"] = job["fault"]
    else:
        os.environ.pop("EARSHOT_FAULT", None)
    try:
        if job["kind"] == "install":
            _install(Path(home), conn)
        else:
            _turns(Path(home), session_id, job, conn)
        conn.send(("done",))
    except EarshotError as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # reported to the bench (a bug the crash exposed), not swallowed
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        sys.stdout.flush()


def _turns(home: Path, session_id: str, job: dict, conn) -> None:
    config = config_for(home)
    store = SessionStore(config.paths.database_path)
    session = store.open_session(session_id)

    def emit(event: Event) -> None:
        if isinstance(event, Reply):
            conn.send(("reply", event.turn_id, event.text))
        elif isinstance(event, ToolFinished):
            changes = [c["seq"] for c in (event.data or {}).get("changes", [])]
            conn.send(("tool", event.tool, event.status, [a.path for a in event.artifacts], changes, event.error))
        elif isinstance(event, ToolStarted):
            conn.send(("phase", f"running {event.tool}"))
        elif isinstance(event, TurnStarted):
            conn.send(("phase", "turn started"))

    assistant = Assistant(config, session, emit=emit)
    rng = random.Random(job["seed"])
    for text, plan in choose_turns(rng, Project(session).state(), job["turns"], job.get("first")):
        asyncio.run(assistant.ask(text, None, plan))
        conn.send(("phase", "between turns"))
    store.close()


def _install(home: Path, conn) -> None:
    store = ModelStore(config_for(home).paths)
    entry = store.entry(INSTALL_MODEL)
    for f in entry.files:  # install from scratch, so there is something to kill
        target = store.folder(INSTALL_MODEL) / f.path
        target.unlink(missing_ok=True)
        target.with_name(target.name + ".verified").unlink(missing_ok=True)
    conn.send(("phase", "installing a model"))
    store.install([INSTALL_MODEL], allow_download=False)
    conn.send(("installed", INSTALL_MODEL))
