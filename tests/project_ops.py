"""Random project operations for property tests (unit and integration): a hypothesis `data` object
draws one operation valid-looking for the current state (some are invalid on purpose — an
invalid operation must leave no trace)."""

from __future__ import annotations

from hypothesis import strategies as st

from assistant.project.effects import EFFECTS
from assistant.project.model import effects_in_order, tracks_in_order
from assistant.project.vibes import VIBE_NAMES

TIMES = st.integers(0, 64).map(lambda n: n / 4)  # 0 … 16 in quarter steps
UNITS = st.sampled_from(["beats", "seconds"])
GAINS = st.integers(-240, 48).map(lambda n: n / 8)  # -30 … +6 dB


def fake_source(n: int = 1, duration_s: float = 2.0, path: str = "/nonexistent/src.wav") -> dict:
    return {
        "artifact": n,
        "path": path,
        "name": f"src{n}.wav",
        "sha256": "0" * 64,
        "duration_s": duration_s,
        "sample_rate_hz": 44100,
        "channels": 1,
    }


def draw_op(data, state: dict, sources: list[dict]) -> tuple[str, dict]:
    """(kind, args): kind is a model op name, or "undo"/"redo"/"revert"/"vibe"."""
    tracks = tracks_in_order(state)
    clips = sorted(state["clips"])
    owners = ["master"] + [t["id"] for t in tracks]
    kinds = ["add_track", "set_tempo", "set_master", "undo", "redo", "set_time_signature"]
    if tracks:
        kinds += [
            "place_clip",
            "place_clip",
            "set_track",
            "rename_track",
            "remove_track",
            "move_track",
            "add_effect",
            "add_effect",
            "vibe",
        ]
    if clips:
        kinds += ["move_clip", "trim_clip", "split_clip", "duplicate_clip", "delete_clip", "set_clip", "loop_clip"]
    if any(
        effects_in_order(state["tracks"][o]["effects"] if o != "master" else state["master"]["effects"]) for o in owners
    ):
        kinds += ["set_effect", "remove_effect", "move_effect"]
    kinds.append("revert")
    kind = data.draw(st.sampled_from(kinds))
    d = data.draw
    if kind == "add_track":
        return kind, {
            "name": d(st.sampled_from(["Drums", "Vocal", "Bass", "Keys", "Pad"])),
            "kind": d(st.sampled_from(["audio", "audio", "midi"])),
        }
    if kind == "set_tempo":
        return kind, {"bpm": float(d(st.integers(60, 180)))}
    if kind == "set_time_signature":
        return kind, {"numerator": d(st.sampled_from([3, 4, 6, 7])), "denominator": d(st.sampled_from([4, 8]))}
    if kind == "set_master":
        return kind, {
            "gain_db": d(st.none() | GAINS),
            "limiter": d(st.sampled_from([None, True, False])),
            "limiter_db": d(st.none() | st.integers(-12, 0).map(float)),
        }
    if kind in ("undo", "redo"):
        return kind, {"steps": d(st.integers(1, 3))}
    if kind == "revert":
        return kind, {"seq": d(st.integers(1, 60))}
    if kind == "vibe":
        return kind, {
            "descriptor": d(st.sampled_from(VIBE_NAMES)),
            "owner": d(st.sampled_from(owners)),
            "amount": d(st.sampled_from([0.5, 1.0, 2.0])),
        }
    track = d(st.sampled_from(tracks))["id"] if tracks else None
    if kind == "set_track":
        return kind, {
            "track_id": track,
            "gain_db": d(st.none() | GAINS),
            "pan": d(st.none() | st.integers(-8, 8).map(lambda n: n / 8)),
            "mute": d(st.none() | st.booleans()),
            "solo": d(st.none() | st.booleans()),
        }
    if kind == "rename_track":
        return kind, {"track_id": track, "name": d(st.sampled_from(["Lead", "Drums", "Choir"]))}
    if kind == "remove_track":
        return kind, {"track_id": track}
    if kind == "move_track":
        return kind, {"track_id": track, "position": d(st.integers(1, 5))}
    if kind == "place_clip":
        t = state["tracks"][track]
        args = {"track_id": track, "start": d(TIMES), "unit": d(UNITS)}
        if t["kind"] == "midi":
            n = d(st.integers(1, 4))
            args["notes"] = [[60 + 2 * i, i * 0.5, 0.5, 100] for i in range(n)]
        else:
            args["source"] = d(st.sampled_from(sources))
            args["source_bpm"] = d(st.sampled_from([None, None, 120.0, 90.0]))
        return kind, args
    owner = d(st.sampled_from(owners))
    chain = effects_in_order(state["tracks"][owner]["effects"] if owner != "master" else state["master"]["effects"])
    if kind == "add_effect":
        fx = d(st.sampled_from(sorted(EFFECTS)))
        pname = d(st.sampled_from(sorted(EFFECTS[fx].params)))
        p = EFFECTS[fx].params[pname]
        value = round(p.lo + (p.hi - p.lo) * d(st.integers(0, 8)) / 8, 3)
        return kind, {
            "owner": owner,
            "kind": fx,
            "params": d(st.sampled_from([{}, {pname: value}])),
            "position": d(st.none() | st.integers(1, 4)),
        }
    if kind in ("set_effect", "remove_effect", "move_effect"):
        if not chain:
            return "remove_effect", {"owner": owner, "effect_id": "e999"}  # invalid on purpose
        fx = d(st.sampled_from(chain))
        if kind == "remove_effect":
            return kind, {"owner": owner, "effect_id": fx["id"]}
        if kind == "move_effect":
            return kind, {"owner": owner, "effect_id": fx["id"], "position": d(st.integers(1, 4))}
        pname = d(st.sampled_from(sorted(EFFECTS[fx["type"]].params)))
        p = EFFECTS[fx["type"]].params[pname]
        return kind, {
            "owner": owner,
            "effect_id": fx["id"],
            "param": pname,
            "value": round(p.lo + (p.hi - p.lo) * d(st.integers(0, 8)) / 8, 3),
            "enabled": d(st.none() | st.booleans()),
        }
    clip = d(st.sampled_from(clips))
    if kind == "move_clip":
        return kind, {
            "clip_id": clip,
            "start": d(st.none() | TIMES),
            "unit": d(st.none() | UNITS),
            "track_id": d(st.none() | st.sampled_from([t["id"] for t in tracks])),
        }
    if kind == "trim_clip":
        return kind, {
            "clip_id": clip,
            "start": d(st.none() | TIMES),
            "length": d(st.none() | TIMES),
            "unit": d(st.none() | UNITS),
        }
    if kind == "split_clip":
        return kind, {"clip_id": clip, "at": d(TIMES), "unit": d(st.none() | UNITS)}
    if kind == "duplicate_clip":
        return kind, {"clip_id": clip, "start": d(st.none() | TIMES), "unit": d(st.none() | UNITS)}
    if kind == "delete_clip":
        return kind, {"clip_id": clip}
    if kind == "set_clip":
        return kind, {
            "clip_id": clip,
            "gain_db": d(st.none() | GAINS),
            "fade_in_s": d(st.none() | st.integers(0, 8).map(lambda n: n / 8)),
            "fade_out_s": d(st.none() | st.integers(0, 8).map(lambda n: n / 8)),
        }
    return "loop_clip", {
        "clip_id": clip,
        "length": d(st.none() | TIMES),
        "unit": d(st.none() | UNITS),
        "on": d(st.sampled_from([True, True, False])),
    }


def run_op(project, kind: str, args: dict):
    """Apply one drawn operation as one group; returns the list of Changes (empty when nothing happened)."""
    from assistant.project.vibes import plan_vibe

    if kind == "undo":
        return project.undo(args["steps"])
    if kind == "redo":
        return project.redo(args["steps"])
    if kind == "revert":
        return [project.revert(args["seq"])]
    with project.changes() as tx:
        if kind == "vibe":
            ops, _ = plan_vibe(tx.state, args["descriptor"], args["owner"], args["amount"])
            return [tx.apply(op, **a) for op, a in ops]
        return [tx.apply(kind, **args)]
