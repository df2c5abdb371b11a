"""Which track or clip a request means: by number, id, name or description.

    track: "2", "track 2", "t3", "Drums", "the drums", "the second track", "the last track",
           "the midi track", "vocals" (matches "Vocal"), "master"
    clip:  "c7", "clip 7", "the second vocal clip", "the last clip", "the first clip on the drums",
           "the piano loop" (matches a clip or a track name), "it" (the clip changed last)

Ambiguity is an error that lists the candidates, never a guess.
"""

from __future__ import annotations

import re

from ..errors import EarshotError
from .model import clip_start_s, clips_in_order, tracks_in_order

ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "1st": 1,
    "2nd": 2,
    "3rd": 3,
    "4th": 4,
    "5th": 5,
    "6th": 6,
    "7th": 7,
    "8th": 8,
    "9th": 9,
    "10th": 10,
    "last": -1,
    "final": -1,
}
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
FILLER = {"the", "a", "an", "my", "our", "this", "that", "please", "of", "part"}
TRACK_WORDS = {"track", "tracks", "channel", "lane"}
CLIP_WORDS = {"clip", "clips", "region", "regions", "take", "file", "sample", "bit"}
PRONOUNS = {"it", "that", "this", "them", "one", "that one", "this one", "the last one", "the new one"}


def _words(text: str) -> list[str]:
    # "track2" is "track 2" (ids like "t3" and "c7" stay whole: a word of 3+ letters, then digits).
    text = re.sub(r"\b([a-z]{3,})(\d+)\b", r"\1 \2", text.lower())
    return re.sub(r"[^a-z0-9#]+", " ", text).split()


def _stem(word: str) -> str:
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def _score(query: list[str], *names: str) -> float:
    """How well the query words match a name: whole-name match beats word overlap."""
    q = [_stem(w) for w in query]
    if not q:
        return 0.0
    best = 0.0
    for name in names:
        words = [_stem(w) for w in _words(name)]
        if not words:
            continue
        if q == words:
            return 10.0
        hits = sum(
            1
            for w in q
            if w in words or any(x.startswith(w) or w.startswith(x) for x in words if len(x) > 2 and len(w) > 2)
        )
        best = max(best, hits / len(q) * 5 + (hits / len(words)))
    return best if best >= 5 else 0.0  # every query word must match something


def _listing(items: list[str]) -> str:
    return ", ".join(items[:8]) + (" …" if len(items) > 8 else "")


def resolve_track(state: dict, ref: str, allow_master: bool = False) -> str:
    """A track id (or "master" if allowed) for `ref`, or an EarshotError listing the tracks."""
    tracks = tracks_in_order(state)
    listing = _listing([f"{i} {t['name']}" for i, t in enumerate(tracks, 1)])
    raw = (ref or "").strip()
    if raw.startswith(("@", "$")):
        # A file reference where a track was meant ("make it more relaxed" → "@last"): the track
        # that plays that file, else (where the whole song makes sense) the master.
        m = re.match(r"@a(\d+)", raw)
        holders = {
            c["track"]
            for c in state["clips"].values()
            if m and (c.get("source") or {}).get("artifact") == int(m.group(1))
        }
        if len(holders) == 1:
            return holders.pop()
        if allow_master:
            return "master"
        raise EarshotError(f"{raw!r} is a file, not a track of the project", f"name a track: {listing or 'none yet'}")
    words = [w for w in _words(raw) if w not in FILLER]
    if allow_master and any(w in ("master", "mix", "song", "everything", "project", "bus", "all") for w in words):
        return "master"
    if not tracks:
        raise EarshotError("the project has no tracks yet", "place a file on a track first")
    if not words:
        if len(tracks) == 1:
            return tracks[0]["id"]
        raise EarshotError("which track?", f"tracks: {listing}")
    if len(words) == 1 and re.fullmatch(r"t\d+", words[0]):
        if words[0] in state["tracks"]:
            return words[0]
    rest = [w for w in words if w not in TRACK_WORDS]
    nums = [int(w) for w in rest if w.isdigit()] + [NUMBERS[w] for w in rest if w in NUMBERS]
    ords = [ORDINALS[w] for w in rest if w in ORDINALS]
    desc = [w for w in rest if not w.isdigit() and w not in NUMBERS and w not in ORDINALS]
    kinds = [w for w in desc if w in ("midi", "audio", "instrument")]
    if (nums or ords) and not [w for w in desc if w not in kinds]:
        pool = [t for t in tracks if not kinds or t["kind"] == ("audio" if "audio" in kinds else "midi")]
        n = (nums or ords)[0]
        if n == -1 and pool:
            return pool[-1]["id"]
        if 1 <= n <= len(pool):
            return pool[n - 1]["id"]
        raise EarshotError(f"there is no track {n}", f"tracks: {listing}")
    if kinds and len(kinds) == len(desc):
        pool = [t for t in tracks if t["kind"] == ("audio" if "audio" in kinds else "midi")]
        if len(pool) == 1:
            return pool[0]["id"]
    exact = [t for t in tracks if t["name"].lower() == raw.lower() or _words(t["name"]) == desc]
    if len(exact) == 1:
        return exact[0]["id"]
    scored = []
    for t in tracks:
        clip_names = [c["name"] for c in state["clips"].values() if c["track"] == t["id"]]
        s = max(_score(desc, t["name"]), _score(desc, *clip_names) * 0.8 if clip_names else 0.0)
        if s:
            scored.append((s, t))
    if not scored:
        raise EarshotError(f"no track matches {ref!r}", f"tracks: {listing}")
    scored.sort(key=lambda st: -st[0])
    top = [t for s, t in scored if s == scored[0][0]]
    if ords and len(top) > 1:
        n = ords[0]
        if n == -1 or 1 <= n <= len(top):
            return top[n if n == -1 else n - 1]["id"]
    if len(top) > 1:
        raise EarshotError(
            f"{ref!r} could mean {', '.join(repr(t['name']) for t in top)}", "say which one, by name or number"
        )
    return top[0]["id"]


def resolve_clip(state: dict, ref: str, recent: str | None = None) -> str:
    """A clip id for `ref`, or an EarshotError listing the candidates."""
    clips = clips_in_order(state)
    if not clips:
        raise EarshotError("the project has no clips yet", "place a file on a track first")

    def label(c):
        return f"{c['id']} {c['name']} on {state['tracks'][c['track']]['name']}"

    raw = (ref or "").strip().lower()
    words = [w for w in _words(raw) if w not in FILLER]
    if not words or raw in PRONOUNS or words in (["it"], ["last", "one"], ["new", "one"]):
        if recent and recent in state["clips"]:
            return recent
        if len(clips) == 1:
            return clips[0]["id"]
        raise EarshotError("which clip?", f"clips: {_listing([label(c) for c in clips])}")
    if len(words) <= 2 and re.fullmatch(r"c\d+", words[-1]) and words[-1] in state["clips"]:
        return words[-1]
    if len(words) == 2 and words[0] in CLIP_WORDS and words[1].isdigit():
        cid = f"c{words[1]}"
        if cid in state["clips"]:
            return cid
        raise EarshotError(f"there is no clip {cid}", f"clips: {_listing([label(c) for c in clips])}")
    # "the first clip on the drums": split off the track part
    pool = clips
    for sep in (" on ", " in ", " from "):
        if sep in f" {raw} ":
            left, _, right = f" {raw} ".partition(sep)
            try:
                tid = resolve_track(state, right)
            except EarshotError:
                continue
            pool = [c for c in clips if c["track"] == tid]
            words = [w for w in _words(left) if w not in FILLER]
            break
    ords = [ORDINALS[w] for w in words if w in ORDINALS]
    desc = [w for w in words if w not in ORDINALS and w not in CLIP_WORDS]
    if desc:
        scored = []
        for c in pool:
            track_name = state["tracks"][c["track"]]["name"]
            s = max(_score(desc, c["name"]), _score(desc, track_name), _score(desc, f"{track_name} {c['name']}"))
            if s:
                scored.append(c)
        pool = scored
    if not pool:
        raise EarshotError(f"no clip matches {ref!r}", f"clips: {_listing([label(c) for c in clips])}")
    pool.sort(key=lambda c: (clip_start_s(state, c), c["id"]))
    if ords:
        n = ords[0]
        if n == -1:
            return pool[-1]["id"]
        if n <= len(pool):
            return pool[n - 1]["id"]
        raise EarshotError(
            f"there are only {len(pool)} clips matching {ref!r}", f"clips: {_listing([label(c) for c in pool])}"
        )
    if len(pool) > 1:
        raise EarshotError(
            f"{ref!r} could mean {_listing([label(c) for c in pool])}",
            "say which one: 'the first …', 'the second …', or its id like c3",
        )
    return pool[0]["id"]


def resolve_effect(state: dict, owner: str, ref: str, kind: str | None = None) -> str:
    """An effect id on `owner`'s chain: by id ("e4"), slot number, type ("the reverb") or the only one."""
    from .effects import EFFECTS, canonical_effect
    from .model import chain_of, effects_in_order, owner_name

    chain = effects_in_order(chain_of(state, owner))
    where = owner_name(state, owner)
    if not chain:
        raise EarshotError(f"{where} has no effects", "add one first")
    words = [w for w in _words(ref or "") if w not in FILLER]
    if len(words) == 1 and re.fullmatch(r"e\d+", words[0]):
        if any(e["id"] == words[0] for e in chain):
            return words[0]
    nums = [int(w) for w in words if w.isdigit()] + [o for w in words if (o := ORDINALS.get(w))]
    if kind is None and words:
        for w in words:
            try:
                kind = canonical_effect(w)
                break
            except EarshotError:
                continue
    pool = [e for e in chain if kind is None or e["type"] == kind]
    if not pool:
        raise EarshotError(
            f"{where} has no {EFFECTS[kind].title.lower()}", f"its chain: {', '.join(e['type'] for e in chain)}"
        )
    if nums:
        n = nums[0]
        if n == -1:
            return pool[-1]["id"]
        if 1 <= n <= len(pool):
            return pool[n - 1]["id"]
    if len(pool) == 1:
        return pool[0]["id"]
    raise EarshotError(
        f"{where} has {len(pool)} {'effects' if kind is None else EFFECTS[kind].title.lower() + 's'}",
        "say which: " + ", ".join(f"{i} {e['type']} ({e['id']})" for i, e in enumerate(pool, 1)),
    )
