"""The project as compact text: for the planner's per-turn context (trimmed to a token budget), for
`describe_project` replies, and for logs. Numbers and ids in it are the ones requests can use."""

from __future__ import annotations

from collections.abc import Callable

from .effects import describe_effect
from .model import clip_end_s, clips_in_order, effects_in_order, tracks_in_order


def _clip_line(s: dict, c: dict) -> str:
    at = f"beat {c['start']:g}" if c["unit"] == "beats" else f"{c['start']:g} s"
    bits = [f"{c['id']} {c['name']} at {at}", f"{c['length']:g} {'beats' if c['unit'] == 'beats' else 's'}"]
    if c.get("loop"):
        bits.append("loop")
    if c["gain_db"]:
        bits.append(f"{c['gain_db']:+g} dB")
    if c["fade_in_s"] or c["fade_out_s"]:
        bits.append(f"fades {c['fade_in_s']:g}/{c['fade_out_s']:g} s")
    if c["kind"] == "midi":
        bits.append(f"{len(c['notes'])} notes")
    elif (c.get("source") or {}).get("offline"):
        bits.append("offline (audio missing)")
    return ", ".join(bits)


def _track_line(s: dict, i: int, t: dict, fx_detail: bool) -> str:
    bits = [f"{i}. {t['name']} ({t['kind']})"]
    if t["gain_db"]:
        bits.append(f"{t['gain_db']:+g} dB")
    if t["pan"]:
        bits.append(f"pan {t['pan']:+g}")
    if t["mute"]:
        bits.append("muted")
    if t["solo"]:
        bits.append("solo")
    fx = effects_in_order(t["effects"])
    if fx:
        bits.append(
            "fx: " + (", ".join(describe_effect(e) for e in fx) if fx_detail else ", ".join(e["type"] for e in fx))
        )
    return " ".join(bits[:1]) + (" " + ", ".join(bits[1:]) if len(bits) > 1 else "")


def describe(s: dict, level: int = 3, changes: list[str] | None = None) -> str:
    """level 3: everything (tracks, chains with values, clips); 2: chains by type, clips summarised;
    1: tracks by name only; 0: one line."""
    tracks = tracks_in_order(s)
    end = max((clip_end_s(s, c) for c in s["clips"].values()), default=0.0)
    num, den = s["time_signature"]
    head = (
        f"Project {s['name']!r}: {s['tempo_bpm']:g} BPM, {num}/{den}, {len(tracks)} track"
        f"{'s' * (len(tracks) != 1)}, {len(s['clips'])} clip{'s' * (len(s['clips']) != 1)}, {end:.1f} s"
    )
    if level <= 0:
        return head
    lines = [head]
    for i, t in enumerate(tracks, 1):
        if level == 1:
            lines.append(f"{i}. {t['name']} ({t['kind']})")
            continue
        lines.append(_track_line(s, i, t, fx_detail=level >= 3))
        clips = clips_in_order(s, t["id"])
        if level >= 3:
            lines += [f"   {_clip_line(s, c)}" for c in clips]
        elif clips:
            lines.append(
                f"   clips: {', '.join(c['id'] + ' ' + c['name'] for c in clips[:6])}"
                + (" …" if len(clips) > 6 else "")
            )
    m = s["master"]
    master = [
        f"Master {m['gain_db']:+g} dB",
        "limiter " + (f"{m['limiter_db']:g} dBFS" if m["limiter_db"] is not None else "off"),
    ]
    fx = effects_in_order(m["effects"])
    if fx:
        master.append("fx: " + ", ".join(describe_effect(e) if level >= 3 else e["type"] for e in fx))
    lines.append(", ".join(master))
    if changes and level >= 2:
        lines.append("Recent changes: " + "; ".join(c if len(c) <= 90 else c[:87] + "…" for c in changes))
    return "\n".join(lines)


def describe_within(
    s: dict, budget_tokens: int, count_tokens: Callable[[str], int], changes: list[str] | None = None
) -> str:
    """The most detailed description that fits the budget (the planner's per-turn context)."""
    for level in (3, 2, 1):
        for recent in ((changes or [])[-3:], []):
            text = describe(s, level, recent)
            if count_tokens(text) <= budget_tokens:
                return text
    return describe(s, 0)


def planner_context(session, budget_tokens: int, count_tokens: Callable[[str], int]) -> str | None:
    """The planner's view of the session's project (None until the project has been touched)."""
    from .store import Project

    project = Project(session)
    if not project.exists:
        return None
    changes = [f"#{r['seq']} {r['label']}" for r in project.log(3) if r["kind"] != "init"]
    return describe_within(project.state(), budget_tokens, count_tokens, changes)
