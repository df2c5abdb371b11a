"""The studio project as plain JSON data, and the operations that change it.

State (everything JSON: dicts, lists, str, float, int, bool, None):

    name, tempo_bpm, time_signature [num, den], sample_rate_hz, next_id
    tracks   {id: {id, name, kind audio|midi, gain_db, pan -1..1, mute, solo, pos, program, effects}}
    clips    {id: {id, track, name, kind, start, unit beats|seconds, length (timeline, in unit),
                   content_unit seconds|beats, offset (content), loop [start, end] | None (content),
                   fade_in_s, fade_out_s, gain_db, warp [beats, seconds] | None, source | None, notes}}
    master   {gain_db, limiter_db (None = off), effects}
    effects  {id: {id, type, params {name: value}, enabled, pos}}

Ordering uses a `pos` number on each track and effect instead of an order list, so adding or
removing one item touches only that item: a change deep in the history can then be undone on its
own without colliding with later, unrelated ones. Times are rounded to 1e-6 (beats or seconds,
well below a sample), levels to 1e-3 dB and effect parameters to 1e-4, so values survive unit
conversions (DAWproject stores linear volume and normalised pan) exactly.

Every operation is a function `op(state, **args) -> Done` that mutates the copy it is given (the
store diffs before/after into an exact, invertible patch) and says in words what it changed.
Clip timing follows DAWproject: `start`/`length` are on the timeline in `unit`; `offset` and
`loop` are in the content's unit; an audio clip whose content is in beats is *warped* — `warp`
maps `warp[0]` content beats onto `warp[1]` seconds of the file, so it follows tempo changes.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import EarshotError
from .effects import EFFECTS, check_value, default_params, param_name

MAX_TRACKS = 64
MAX_CLIPS = 2000


@dataclass(frozen=True)
class Done:
    label: str  # what changed, in words, for the reply and the log
    ref: str | None = None  # the id it created or changed (t3, c7, e9)


def qt(x: float) -> float:
    """A time (beats or seconds) on the project's 1e-6 grid."""
    return round(float(x), 6) + 0.0


def qv(x: float) -> float:
    """A level (dB) or pan on the 1e-3 grid."""
    return round(float(x), 3) + 0.0


def qp(x: float) -> float:
    """An effect parameter on the 1e-4 grid."""
    return round(float(x), 4) + 0.0


def new_state(name: str = "Untitled", sample_rate_hz: int = 44100) -> dict:
    return {
        "name": name,
        "tempo_bpm": 120.0,
        "time_signature": [4, 4],
        "sample_rate_hz": int(sample_rate_hz),
        "next_id": 1,
        "tracks": {},
        "clips": {},
        "master": {"gain_db": 0.0, "limiter_db": -1.0, "effects": {}},
    }


# -- time ---------------------------------------------------------------------------------------
def beats_per_bar(s: dict) -> float:
    num, den = s["time_signature"]
    return num * 4.0 / den


def to_seconds(s: dict, value: float, unit: str) -> float:
    if unit == "seconds":
        return value
    if unit == "bars":
        value = (value - 1.0) * beats_per_bar(s)
    return value * 60.0 / s["tempo_bpm"]


def to_unit(s: dict, seconds: float, unit: str) -> float:
    if unit == "seconds":
        return seconds
    beats = seconds * s["tempo_bpm"] / 60.0
    return beats / beats_per_bar(s) + 1.0 if unit == "bars" else beats


def convert(s: dict, value: float, from_unit: str, to: str) -> float:
    """A position in beats/bars/seconds expressed in another unit (beats ↔ bars exactly, no tempo)."""
    if from_unit == to:
        return value
    if from_unit == "bars" and to == "beats":
        return (value - 1.0) * beats_per_bar(s)
    return to_unit(s, to_seconds(s, value, from_unit), to)


def clip_start_s(s: dict, c: dict) -> float:
    return to_seconds(s, c["start"], c["unit"])


def clip_length_s(s: dict, c: dict) -> float:
    return to_seconds(s, c["length"], c["unit"])


def clip_end_s(s: dict, c: dict) -> float:
    return clip_start_s(s, c) + clip_length_s(s, c)


def content_per_timeline(s: dict, c: dict) -> float:
    """Content units advanced per timeline unit (1 unless one side is beats and the other seconds)."""
    if c["unit"] == c["content_unit"]:
        return 1.0
    beats_per_s = s["tempo_bpm"] / 60.0
    return 1.0 / beats_per_s if c["unit"] == "beats" else beats_per_s


def content_length(s: dict, c: dict) -> float:
    """How much content the whole file (or MIDI clip) holds, in the content unit (None: unbounded)."""
    src = c.get("source") or {}
    if c["kind"] == "midi":
        return max((n[1] + n[2] for n in c["notes"]), default=0.0)
    dur = float(src.get("duration_s") or 0.0)
    if c["content_unit"] == "beats":
        return dur * c["warp"][0] / c["warp"][1]
    return dur


def wrap(c: dict, position: float) -> float:
    """A content position with the clip's loop applied."""
    if c.get("loop") and position >= c["loop"][1]:
        a, b = c["loop"]
        return a + math.fmod(position - a, b - a)
    return position


# -- lookups ------------------------------------------------------------------------------------
def tracks_in_order(s: dict) -> list[dict]:
    return sorted(s["tracks"].values(), key=lambda t: (t["pos"], t["id"]))


def effects_in_order(chain: dict) -> list[dict]:
    return sorted(chain.values(), key=lambda e: (e["pos"], e["id"]))


def clips_in_order(s: dict, track_id: str | None = None) -> list[dict]:
    order = {t["id"]: i for i, t in enumerate(tracks_in_order(s))}
    clips = [c for c in s["clips"].values() if track_id is None or c["track"] == track_id]
    return sorted(clips, key=lambda c: (clip_start_s(s, c), order.get(c["track"], 0), _num(c["id"])))


def chain_of(s: dict, owner: str) -> dict:
    """The effects dict of a track id, or of the master bus."""
    if owner == "master":
        return s["master"]["effects"]
    return _track(s, owner)["effects"]


def owner_name(s: dict, owner: str) -> str:
    return "master" if owner == "master" else s["tracks"][owner]["name"]


def _num(ident: str) -> int:
    return int(ident[1:]) if ident[1:].isdigit() else 0


def _track(s: dict, track_id: str) -> dict:
    if track_id not in s["tracks"]:
        raise EarshotError(f"there is no track {track_id}", "`describe_project` lists the tracks")
    return s["tracks"][track_id]


def _clip(s: dict, clip_id: str) -> dict:
    if clip_id not in s["clips"]:
        raise EarshotError(f"there is no clip {clip_id}", "`describe_project` lists the clips")
    return s["clips"][clip_id]


def _new_id(s: dict, prefix: str) -> str:
    n = s["next_id"]
    s["next_id"] = n + 1
    return f"{prefix}{n}"


def _next_pos(items: dict) -> float:
    return float(math.floor(max((i["pos"] for i in items.values()), default=0.0)) + 1)


def _pos_at(items: dict, index: int, moving: str | None = None) -> float:
    """A pos that puts an item at 1-based `index` among `items` (others keep theirs when possible)."""
    rest = [i for i in sorted(items.values(), key=lambda i: (i["pos"], i["id"])) if i["id"] != moving]
    index = max(1, min(index, len(rest) + 1))
    if not rest:
        return 1.0
    if index == 1:
        return rest[0]["pos"] - 1.0
    if index > len(rest):
        return float(math.floor(rest[-1]["pos"]) + 1)
    lo, hi = rest[index - 2]["pos"], rest[index - 1]["pos"]
    mid = (lo + hi) / 2
    if not lo < mid < hi:  # the grid ran out of room: renumber (rare; one change touches them all)
        for n, item in enumerate(rest, 1):
            item["pos"] = float(n)
        return index - 0.5
    return mid


def _unique_name(existing: list[str], name: str) -> str:
    taken = {n.lower() for n in existing}
    if name.lower() not in taken:
        return name
    n = 2
    while f"{name} {n}".lower() in taken:
        n += 1
    return f"{name} {n}"


def _clean_name(name: str, what: str) -> str:
    name = " ".join(str(name).split())
    if not name:
        raise EarshotError(f"the {what} needs a name", "say what to call it")
    if len(name) > 60:
        raise EarshotError(f"the {what} name is longer than 60 characters", "use a shorter name")
    return name


def _db(x: float) -> str:
    return f"{x:+g} dB"


# -- project ------------------------------------------------------------------------------------
def set_tempo(s: dict, bpm: float) -> Done:
    if not 20.0 <= bpm <= 400.0:
        raise EarshotError(f"a tempo of {bpm:g} BPM is out of range", "use 20–400 BPM")
    old, new = s["tempo_bpm"], qv(bpm)
    for c in s["clips"].values():
        # An unwarped audio clip on the beat grid keeps its sound: its length in beats follows the tempo.
        if c["kind"] == "audio" and c["unit"] == "beats" and c["content_unit"] == "seconds":
            c["length"] = qt(c["length"] * new / old)
    s["tempo_bpm"] = new
    return Done(f"tempo {old:g} → {new:g} BPM")


def set_time_signature(s: dict, numerator: int, denominator: int) -> Done:
    if not (1 <= numerator <= 32 and denominator in (1, 2, 4, 8, 16, 32)):
        raise EarshotError(f"{numerator}/{denominator} is not a time signature I can use", "use e.g. 3/4, 4/4, 6/8")
    old = s["time_signature"]
    s["time_signature"] = [int(numerator), int(denominator)]
    return Done(f"time signature {old[0]}/{old[1]} → {numerator}/{denominator}")


def rename_project(s: dict, name: str) -> Done:
    old, s["name"] = s["name"], _clean_name(name, "project")
    return Done(f"project renamed {old!r} → {s['name']!r}")


def set_master(
    s: dict, gain_db: float | None = None, limiter_db: float | None = None, limiter: bool | None = None
) -> Done:
    m, bits = s["master"], []
    if gain_db is not None:
        if not -60 <= gain_db <= 12:
            raise EarshotError("master gain must be between -60 and +12 dB", "")
        bits.append(f"master gain {_db(m['gain_db'])} → {_db(qv(gain_db))}")
        m["gain_db"] = qv(gain_db)
    if limiter is False:
        bits.append("master limiter off")
        m["limiter_db"] = None
    elif limiter_db is not None or limiter is True:
        value = qv(limiter_db if limiter_db is not None else (m["limiter_db"] or -1.0))
        if not -30 <= value <= 0:
            raise EarshotError("the limiter ceiling must be between -30 and 0 dBFS", "")
        bits.append(f"master limiter at {value:g} dBFS")
        m["limiter_db"] = value
    return Done("; ".join(bits) or "master unchanged")


def replace_project(s: dict, new: dict, label: str) -> Done:
    s.clear()
    s.update(copy.deepcopy(new))
    return Done(label)


# -- tracks -------------------------------------------------------------------------------------
def add_track(s: dict, name: str, kind: str = "audio", program: int = 0) -> Done:
    if kind not in ("audio", "midi"):
        raise EarshotError(f"a track is audio or midi, not {kind!r}", "")
    if len(s["tracks"]) >= MAX_TRACKS:
        raise EarshotError(f"the project already has {MAX_TRACKS} tracks", "remove one first")
    name = _unique_name([t["name"] for t in s["tracks"].values()], _clean_name(name, "track"))
    tid = _new_id(s, "t")
    s["tracks"][tid] = {
        "id": tid,
        "name": name,
        "kind": kind,
        "gain_db": 0.0,
        "pan": 0.0,
        "mute": False,
        "solo": False,
        "pos": _next_pos(s["tracks"]),
        "program": int(program),
        "effects": {},
    }
    return Done(f"added {kind} track {len(s['tracks'])} {name!r}", tid)


def remove_track(s: dict, track_id: str) -> Done:
    t = _track(s, track_id)
    gone = [cid for cid, c in s["clips"].items() if c["track"] == track_id]
    for cid in gone:
        del s["clips"][cid]
    del s["tracks"][track_id]
    extra = f" and its {len(gone)} clip{'s' * (len(gone) != 1)}" if gone else ""
    return Done(f"removed track {t['name']!r}{extra}", track_id)


def rename_track(s: dict, track_id: str, name: str) -> Done:
    t = _track(s, track_id)
    others = [x["name"] for x in s["tracks"].values() if x["id"] != track_id]
    old, t["name"] = t["name"], _unique_name(others, _clean_name(name, "track"))
    return Done(f"renamed track {old!r} → {t['name']!r}", track_id)


def move_track(s: dict, track_id: str, position: int) -> Done:
    t = _track(s, track_id)
    t["pos"] = _pos_at(s["tracks"], position, moving=track_id)
    return Done(f"moved track {t['name']!r} to position {max(1, min(position, len(s['tracks'])))}", track_id)


def set_track(
    s: dict,
    track_id: str,
    gain_db: float | None = None,
    pan: float | None = None,
    mute: bool | None = None,
    solo: bool | None = None,
) -> Done:
    t, bits = _track(s, track_id), []
    if gain_db is not None:
        if not -60 <= gain_db <= 12:
            raise EarshotError(f"track gain must be between -60 and +12 dB; got {gain_db:g}", "")
        bits.append(f"gain {_db(t['gain_db'])} → {_db(qv(gain_db))}")
        t["gain_db"] = qv(gain_db)
    if pan is not None:
        if not -1 <= pan <= 1:
            raise EarshotError(f"pan goes from -1 (left) to 1 (right); got {pan:g}", "")
        bits.append(f"pan {_pan(t['pan'])} → {_pan(qv(pan))}")
        t["pan"] = qv(pan)
    if mute is not None:
        bits.append("muted" if mute else "unmuted")
        t["mute"] = bool(mute)
    if solo is not None:
        bits.append("soloed" if solo else "unsoloed")
        t["solo"] = bool(solo)
    return Done(f"{t['name']}: {', '.join(bits) or 'unchanged'}", track_id)


def _pan(p: float) -> str:
    return "centre" if p == 0 else (f"L{-p:g}" if p < 0 else f"R{p:g}")


# -- clips --------------------------------------------------------------------------------------
def place_clip(
    s: dict,
    track_id: str,
    start: float,
    unit: str,
    *,
    source: dict | None = None,
    notes: list | None = None,
    name: str | None = None,
    source_bpm: float | None = None,
    length: float | None = None,
) -> Done:
    """An audio file (source) or MIDI notes on a track. `source_bpm` warps audio to the project tempo."""
    t = _track(s, track_id)
    if len(s["clips"]) >= MAX_CLIPS:
        raise EarshotError(f"the project already has {MAX_CLIPS} clips", "delete some first")
    if unit == "bars":
        start, unit = convert(s, start, "bars", "beats"), "beats"
    if unit not in ("beats", "seconds"):
        raise EarshotError(f"unknown time unit {unit!r}", "use beats, bars or seconds")
    if start < 0:
        raise EarshotError("a clip cannot start before the beginning of the song", "use a start of 0 or more")
    cid = _new_id(s, "c")
    clip: dict[str, Any] = {
        "id": cid,
        "track": track_id,
        "start": qt(start),
        "unit": unit,
        "offset": 0.0,
        "loop": None,
        "fade_in_s": 0.0,
        "fade_out_s": 0.0,
        "gain_db": 0.0,
        "warp": None,
        "source": source,
        "notes": [],
    }
    if notes is not None:
        if t["kind"] != "midi":
            raise EarshotError(
                f"track {t['name']!r} is an audio track; MIDI notes go on a MIDI track",
                "name a MIDI track or a new track name",
            )
        clean = sorted([[int(p), qt(b), qt(d), int(v)] for p, b, d, v in notes], key=lambda n: (n[1], n[0]))
        if not clean:
            raise EarshotError("the MIDI clip has no notes", "use a MIDI file with notes in it")
        for p, b, d, v in clean:
            if not (0 <= p <= 127 and 1 <= v <= 127 and b >= 0 and d > 0):
                raise EarshotError(f"note {p} at beat {b:g} is not a valid MIDI note", "")
        clip.update(
            kind="midi", content_unit="beats", notes=clean, name=name or (source or {}).get("name") or "MIDI clip"
        )
        content_len = max(n[1] + n[2] for n in clean)
        bar = beats_per_bar(s)
        content_len = math.ceil(content_len / bar - 1e-9) * bar  # whole bars, like a DAW would
        clip["length"] = qt(
            length if length else (content_len if unit == "beats" else content_len * 60 / s["tempo_bpm"])
        )
    else:
        if source is None:
            raise EarshotError("a clip needs an audio file or MIDI notes", "name the file to place")
        if t["kind"] != "audio":
            raise EarshotError(
                f"track {t['name']!r} is a MIDI track; audio goes on an audio track",
                "name an audio track or a new track name",
            )
        dur = float(source["duration_s"])
        clip.update(kind="audio", name=name or source["name"])
        if source_bpm and unit == "beats":
            beats = qt(dur * source_bpm / 60.0)
            clip.update(content_unit="beats", warp=[beats, qt(dur)], length=qt(length or beats))
        else:
            clip.update(
                content_unit="seconds", length=qt(length or (dur if unit == "seconds" else dur * s["tempo_bpm"] / 60.0))
            )
    if clip["length"] <= 0:
        raise EarshotError("the clip would have no length", "")
    s["clips"][cid] = clip
    where = f"{'beat' if unit == 'beats' else 'second'} {clip['start']:g}"
    return Done(f"placed {cid} {clip['name']!r} on {t['name']!r} at {where}", cid)


def move_clip(
    s: dict, clip_id: str, start: float | None = None, unit: str | None = None, track_id: str | None = None
) -> Done:
    c, bits = _clip(s, clip_id), []
    if track_id is not None and track_id != c["track"]:
        t = _track(s, track_id)
        if t["kind"] != c["kind"]:
            raise EarshotError(
                f"{c['name']!r} is {c['kind']}; track {t['name']!r} is {t['kind']}",
                "move it to a track of the same kind",
            )
        bits.append(f"to track {t['name']!r}")
        c["track"] = track_id
    if start is not None:
        new = qt(convert(s, start, unit or c["unit"], c["unit"]))
        if new < 0:
            raise EarshotError("a clip cannot start before the beginning of the song", "")
        bits.append(f"from {_at(c['start'], c['unit'])} to {_at(new, c['unit'])}")
        c["start"] = new
    return Done(f"moved {clip_id} {c['name']!r} " + " ".join(bits or ["nowhere"]), clip_id)


def _at(x: float, unit: str) -> str:
    return f"beat {x:g}" if unit == "beats" else f"{x:g} s"


def trim_clip(
    s: dict, clip_id: str, start: float | None = None, length: float | None = None, unit: str | None = None
) -> Done:
    """Move the left edge to `start` (content stays where it is) and/or set the length."""
    c, bits = _clip(s, clip_id), []
    unit = unit or c["unit"]
    if start is not None:
        new = qt(convert(s, start, unit, c["unit"]))
        end = c["start"] + c["length"]
        if new >= end:
            raise EarshotError(
                f"the new start ({_at(new, c['unit'])}) is past the clip's end ({_at(end, c['unit'])})",
                "trim to a point inside the clip",
            )
        delta = new - c["start"]
        offset = c["offset"] + delta * content_per_timeline(s, c)
        if offset < -1e-9 and not c.get("loop"):
            raise EarshotError("the clip cannot start before its file does", "trim to a later point")
        c["offset"] = qt(wrap(c, max(offset, 0.0)))
        c["length"] = qt(end - new)
        c["start"] = new
        bits.append(f"now starts at {_at(new, c['unit'])}")
    if length is not None:
        if unit != c["unit"] and unit != "bars":
            length = to_unit(s, to_seconds(s, length, unit), c["unit"])
        elif unit == "bars":
            length = (
                length * beats_per_bar(s) if c["unit"] == "beats" else length * beats_per_bar(s) * 60 / s["tempo_bpm"]
            )
        if length <= 0:
            raise EarshotError("a clip's length must be more than zero", "")
        c["length"] = qt(length)
        bits.append(f"length {c['length']:g} {c['unit']}")
    c["fade_in_s"] = min(c["fade_in_s"], qt(clip_length_s(s, c)))
    c["fade_out_s"] = min(c["fade_out_s"], qt(clip_length_s(s, c) - c["fade_in_s"]))
    return Done(f"trimmed {clip_id} {c['name']!r}: {', '.join(bits) or 'unchanged'}", clip_id)


def split_clip(s: dict, clip_id: str, at: float, unit: str | None = None) -> Done:
    c = _clip(s, clip_id)
    cut = qt(convert(s, at, unit or c["unit"], c["unit"]))
    if not c["start"] < cut < c["start"] + c["length"]:
        raise EarshotError(
            f"{_at(cut, c['unit'])} is not inside {c['name']!r} "
            f"({_at(c['start'], c['unit'])} to {_at(c['start'] + c['length'], c['unit'])})",
            "split at a point inside the clip",
        )
    right = copy.deepcopy(c)
    right["id"] = nid = _new_id(s, "c")
    right["start"] = cut
    right["length"] = qt(c["start"] + c["length"] - cut)
    right["offset"] = qt(wrap(c, c["offset"] + (cut - c["start"]) * content_per_timeline(s, c)))
    right["fade_in_s"] = 0.0
    c["length"] = qt(cut - c["start"])
    c["fade_out_s"] = 0.0
    c["fade_in_s"] = min(c["fade_in_s"], qt(clip_length_s(s, c)))
    right["fade_out_s"] = min(right["fade_out_s"], qt(clip_length_s(s, right)))
    s["clips"][nid] = right
    return Done(f"split {clip_id} {c['name']!r} at {_at(cut, c['unit'])} into {clip_id} and {nid}", nid)


def duplicate_clip(
    s: dict, clip_id: str, start: float | None = None, unit: str | None = None, track_id: str | None = None
) -> Done:
    c = _clip(s, clip_id)
    dup = copy.deepcopy(c)
    dup["id"] = nid = _new_id(s, "c")
    dup["start"] = (
        qt(c["start"] + c["length"]) if start is None else qt(convert(s, start, unit or c["unit"], c["unit"]))
    )
    if dup["start"] < 0:
        raise EarshotError("a clip cannot start before the beginning of the song", "")
    if track_id is not None:
        t = _track(s, track_id)
        if t["kind"] != c["kind"]:
            raise EarshotError(f"{c['name']!r} is {c['kind']}; track {t['name']!r} is {t['kind']}", "")
        dup["track"] = track_id
    s["clips"][nid] = dup
    return Done(f"duplicated {clip_id} {c['name']!r} as {nid} at {_at(dup['start'], dup['unit'])}", nid)


def delete_clip(s: dict, clip_id: str) -> Done:
    c = _clip(s, clip_id)
    del s["clips"][clip_id]
    return Done(f"deleted {clip_id} {c['name']!r} from {s['tracks'][c['track']]['name']!r}", clip_id)


def set_clip(
    s: dict, clip_id: str, gain_db: float | None = None, fade_in_s: float | None = None, fade_out_s: float | None = None
) -> Done:
    c, bits = _clip(s, clip_id), []
    if gain_db is not None:
        if not -60 <= gain_db <= 24:
            raise EarshotError("clip gain must be between -60 and +24 dB", "")
        bits.append(f"gain {_db(c['gain_db'])} → {_db(qv(gain_db))}")
        c["gain_db"] = qv(gain_db)
    length_s = clip_length_s(s, c)
    fi = c["fade_in_s"] if fade_in_s is None else qt(fade_in_s)
    fo = c["fade_out_s"] if fade_out_s is None else qt(fade_out_s)
    if fi < 0 or fo < 0 or fi + fo > length_s + 1e-6:
        raise EarshotError(
            f"fades of {fi:g} s + {fo:g} s do not fit in {c['name']!r} ({length_s:.3f} s)", "use shorter fades"
        )
    if fade_in_s is not None:
        bits.append(f"fade-in {fi:g} s")
        c["fade_in_s"] = fi
    if fade_out_s is not None:
        bits.append(f"fade-out {fo:g} s")
        c["fade_out_s"] = fo
    return Done(f"{clip_id} {c['name']!r}: {', '.join(bits) or 'unchanged'}", clip_id)


def loop_clip(s: dict, clip_id: str, length: float | None = None, unit: str | None = None, on: bool = True) -> Done:
    """Loop the part of the content the clip plays now, repeating it to `length` (default 4×)."""
    c = _clip(s, clip_id)
    if not on:
        c["loop"] = None
        return Done(f"{clip_id} {c['name']!r}: loop off", clip_id)
    k = content_per_timeline(s, c)
    if not c.get("loop"):
        end = c["offset"] + c["length"] * k
        limit = content_length(s, c)
        if limit:
            end = min(end, limit)
        if end - c["offset"] <= 0:
            raise EarshotError(f"{c['name']!r} plays no content to loop", "trim it first")
        c["loop"] = [qt(c["offset"]), qt(end)]
    if length is None:
        new_len = (c["loop"][1] - c["loop"][0]) / k * 4
    elif unit == "bars":
        new_len = length * beats_per_bar(s) * (1 if c["unit"] == "beats" else 60 / s["tempo_bpm"])
    else:
        new_len = (
            to_unit(s, to_seconds(s, length, unit or c["unit"]), c["unit"]) if unit and unit != c["unit"] else length
        )
    if new_len <= 0:
        raise EarshotError("a loop's length must be more than zero", "")
    c["length"] = qt(new_len)
    return Done(f"{clip_id} {c['name']!r}: looping, now {c['length']:g} {c['unit']} long", clip_id)


# -- effects ------------------------------------------------------------------------------------
def add_effect(
    s: dict, owner: str, kind: str, params: dict[str, float] | None = None, position: int | None = None
) -> Done:
    if kind not in EFFECTS:
        raise EarshotError(f"there is no effect called {kind!r}", f"effects: {', '.join(EFFECTS)}")
    chain = chain_of(s, owner)
    if len(chain) >= 16:
        raise EarshotError(f"the {owner_name(s, owner)} chain already has 16 effects", "remove one first")
    values = default_params(kind)
    for name, value in (params or {}).items():
        pname = param_name(kind, name)
        values[pname] = qp(check_value(kind, pname, float(value)))
    eid = _new_id(s, "e")
    pos = _next_pos(chain) if position is None else _pos_at(chain, position)
    chain[eid] = {"id": eid, "type": kind, "params": values, "enabled": True, "pos": pos}
    shown = ", ".join(f"{p} {values[p]:g}" for p in (param_name(kind, n) for n in (params or {})))
    return Done(
        f"{owner_name(s, owner)}: added {EFFECTS[kind].title.lower()} {eid}" + (f" ({shown})" if shown else ""), eid
    )


def _effect(s: dict, owner: str, effect_id: str) -> dict:
    chain = chain_of(s, owner)
    if effect_id not in chain:
        raise EarshotError(f"{owner_name(s, owner)} has no effect {effect_id}", "`describe_project` lists the chains")
    return chain[effect_id]


def remove_effect(s: dict, owner: str, effect_id: str) -> Done:
    fx = _effect(s, owner, effect_id)
    del chain_of(s, owner)[effect_id]
    return Done(f"{owner_name(s, owner)}: removed {EFFECTS[fx['type']].title.lower()} {effect_id}", effect_id)


def move_effect(s: dict, owner: str, effect_id: str, position: int) -> Done:
    fx = _effect(s, owner, effect_id)
    chain = chain_of(s, owner)
    fx["pos"] = _pos_at(chain, position, moving=effect_id)
    return Done(
        f"{owner_name(s, owner)}: moved {EFFECTS[fx['type']].title.lower()} {effect_id} to slot "
        f"{max(1, min(position, len(chain)))}",
        effect_id,
    )


def set_effect(
    s: dict,
    owner: str,
    effect_id: str,
    param: str | None = None,
    value: float | None = None,
    enabled: bool | None = None,
) -> Done:
    fx, bits = _effect(s, owner, effect_id), []
    if param is not None:
        if value is None:
            raise EarshotError(f"what should {param} be set to?", "give a value")
        pname = param_name(fx["type"], param)
        new = qp(check_value(fx["type"], pname, float(value)))
        bits.append(f"{pname} {fx['params'][pname]:g} → {new:g}")
        fx["params"][pname] = new
    if enabled is not None:
        bits.append("on" if enabled else "bypassed")
        fx["enabled"] = bool(enabled)
    return Done(
        f"{owner_name(s, owner)}: {EFFECTS[fx['type']].title.lower()} {effect_id} {', '.join(bits) or 'unchanged'}",
        effect_id,
    )


OPS: dict[str, Callable[..., Done]] = {
    f.__name__: f
    for f in (
        set_tempo,
        set_time_signature,
        rename_project,
        set_master,
        replace_project,
        add_track,
        remove_track,
        rename_track,
        move_track,
        set_track,
        place_clip,
        move_clip,
        trim_clip,
        split_clip,
        duplicate_clip,
        delete_clip,
        set_clip,
        loop_clip,
        add_effect,
        remove_effect,
        move_effect,
        set_effect,
    )
}
