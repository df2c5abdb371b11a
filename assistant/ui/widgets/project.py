"""The project pane: the studio project's tracks, their clips on a timeline drawn in the terminal,
each track's effect chain, the master bus, and the playhead while a render of the project plays.

`project_lines` lays the project out as plain text with styled spans (pure, unit-tested); the
widgets only turn spans into theme styles and keep the view fresh. The pane reads the project
through the UI's own database connection (`project.store.peek`, which never writes), so drawing
never waits on a running tool.

    Untitled · 100 BPM · 4/4 · 3 tracks · 0:19.2 · ▶ 0:03.1        #14 master: added reverb e9
                  │1       2       3       4       5       6       7       8
    1 drums       │c2 kick-loop.wav ↻     ↻     ↻     ↻     ↻     ↻     ↻
       -4.5 dB · pan C · fx: high-pass 400 Hz → compressor -18 dB 3:1
    2 ♪ melody    │·       c9 melody.mid   ·       ·       ·       ·       ·
    master 0 dB · limiter -1 dBFS · fx: none
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widget import Widget

from ...project.effects import EFFECTS
from ...project.model import (
    beats_per_bar,
    clip_end_s,
    clip_start_s,
    clips_in_order,
    content_per_timeline,
    effects_in_order,
    to_seconds,
    tracks_in_order,
)
from ...project.store import Snapshot

# Roles of styled spans; each is a component class "project--<role>" styled in earshot.tcss.
ROLES = (
    "title",
    "dim",
    "ruler",
    "name",
    "flag",
    "clip0",
    "clip1",
    "midi0",
    "midi1",
    "muted",
    "fx",
    "off",
    "playhead",
    "cursor",
)
EMPTY = (
    "No project yet. Put a file on a track to start one, e.g. “put drums.wav on a new track called drums”; "
    "F5 hides this pane."
)

# The parameters shown for each effect, in order (the rest are in `describe_project`).
SHOWN = {
    "reverb": ("room_size", "wet"),
    "delay": ("delay_s", "feedback"),
    "compressor": ("threshold_db", "ratio"),
    "limiter": ("threshold_db",),
    "noise_gate": ("threshold_db",),
    "lowpass": ("cutoff_hz",),
    "highpass": ("cutoff_hz",),
    "low_shelf": ("cutoff_hz", "gain_db"),
    "high_shelf": ("cutoff_hz", "gain_db"),
    "peak_eq": ("cutoff_hz", "gain_db"),
    "chorus": ("rate_hz", "depth"),
    "phaser": ("rate_hz", "depth"),
    "distortion": ("drive_db",),
    "bitcrush": ("bit_depth",),
    "gain": ("gain_db",),
    "pitch_shift": ("semitones",),
}


@dataclass
class Line:
    """One row of the pane: `text` and the styled spans [start, end) over it."""

    text: str = ""
    spans: list[tuple[int, int, str]] = field(default_factory=list)

    def add(self, text: str, role: str | None = None) -> Line:
        if role and text:
            self.spans.append((len(self.text), len(self.text) + len(text), role))
        self.text += text
        return self


def clock_time(seconds: float) -> str:
    m, s = divmod(max(0.0, seconds), 60)
    return f"{int(m)}:{s:04.1f}"


def _value(name: str, v: float) -> str:
    if name.endswith("_hz"):
        return f"{v / 1000:g} kHz" if v >= 1000 else f"{v:g} Hz"
    if name.endswith("_db"):
        return f"{v:+g} dB" if name == "gain_db" else f"{v:g} dB"
    if name.endswith("_ms"):
        return f"{v:g} ms"
    if name.endswith("_s"):
        return f"{v:g} s"
    if name == "ratio":
        return f"{v:g}:1"
    if name == "bit_depth":
        return f"{v:g} bit"
    if name == "semitones":
        return f"{v:+g} st"
    return f"{'size' if name == 'room_size' else name} {v:g}"


def effect_brief(fx: dict) -> str:
    """ "high shelf 3 kHz -3 dB", "reverb size 0.7 wet 0.25": the effect and its main values."""
    p = fx["params"]
    values = " ".join(_value(n, p[n]) for n in SHOWN.get(fx["type"], ()) if n in p)
    text = EFFECTS[fx["type"]].title.lower() + (f" {values}" if values else "")
    return text if fx.get("enabled", True) else text + " (off)"


def _pan(p: float) -> str:
    return "C" if p == 0 else (f"L {-p:g}" if p < 0 else f"R {p:g}")


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else (text[: max(0, width - 1)] + "…" if width > 0 else "")


def _chain(first: Line, lead: str, effects: list[dict], width: int, indent: int) -> list[Line]:
    """`first` (the row's start), `lead`, then "fx: a → b → c", wrapped at `width` with continuation
    rows indented by `indent` (an effect is never split between rows)."""
    lines = [first.add(lead, "dim").add(" · fx: ", "dim")]
    if not effects:
        lines[-1].add("none", "dim")
        return lines
    for i, fx in enumerate(effects):
        item = effect_brief(fx)
        sep = " → " if i else ""
        if i and len(lines[-1].text) + len(sep) + len(item) > width:
            lines.append(Line().add(" " * indent).add("→ ", "dim"))
            sep = ""
        lines[-1].add(sep, "dim").add(
            _fit(item, width - len(lines[-1].text)), "fx" if fx.get("enabled", True) else "off"
        )
    return lines


@dataclass(frozen=True)
class Scale:
    """Columns of the timeline: `columns` cells covering `total_s` seconds (whole bars)."""

    columns: int
    total_s: float
    bar_s: float
    bars: int

    def col(self, seconds: float) -> int:
        return min(self.columns - 1, max(0, int(seconds * self.columns / self.total_s + 1e-9)))

    def end_col(self, seconds: float) -> int:
        return min(self.columns, max(0, math.ceil(seconds * self.columns / self.total_s - 1e-9)))


def timeline_scale(state: dict, columns: int) -> Scale:
    end_s = max((clip_end_s(state, c) for c in state["clips"].values()), default=0.0)
    bar_s = beats_per_bar(state) * 60.0 / state["tempo_bpm"]
    bars = max(1, math.ceil(end_s / bar_s - 1e-9)) if end_s > 0 else 4
    return Scale(max(1, columns), bars * bar_s, bar_s, bars)


def _ruler(scale: Scale, name_w: int, playhead: int | None) -> Line:
    cells = [" "] * scale.columns
    digits = len(str(scale.bars)) + 1
    step = 1
    while step * scale.bar_s * scale.columns / scale.total_s < digits and step < scale.bars:
        step *= 2
    for b in range(1, scale.bars + 1):
        at = scale.col((b - 1) * scale.bar_s)
        if (b - 1) % step == 0 and at + len(str(b)) <= scale.columns:
            cells[at : at + len(str(b))] = list(str(b))
        elif cells[at] == " ":
            cells[at] = "╵"
    line = Line().add(_fit("bar", name_w).rjust(name_w), "dim").add("│", "ruler")
    if playhead is None:
        return line.add("".join(cells), "ruler")
    return (
        line.add("".join(cells[:playhead]), "ruler").add("▼", "playhead").add("".join(cells[playhead + 1 :]), "ruler")
    )


def _loop_marks(state: dict, c: dict) -> list[float]:
    """Seconds at which a looping clip starts another repeat."""
    if not c.get("loop"):
        return []
    a, b = c["loop"]
    per = content_per_timeline(state, c)
    first = (b - c["offset"]) / per  # timeline units from the clip's start to the first wrap
    period = (b - a) / per
    marks, t = [], first
    while 0 < t < c["length"] and len(marks) < 256:
        marks.append(to_seconds(state, c["start"] + t, c["unit"]))
        t += period
    return marks


def _track_row(state: dict, t: dict, i: int, scale: Scale, name_w: int, audible: bool, playhead: int | None) -> Line:
    cells = [" "] * scale.columns
    roles: list[str | None] = [None] * scale.columns
    for b in range(scale.bars):
        cells[scale.col(b * scale.bar_s)] = "·"
        roles[scale.col(b * scale.bar_s)] = "dim"
    for n, c in enumerate(clips_in_order(state, t["id"])):
        c0 = scale.col(clip_start_s(state, c))
        c1 = max(c0 + 1, scale.end_col(clip_end_s(state, c)))
        role = ("midi" if c["kind"] == "midi" else "clip") + str(n % 2) if audible else "muted"
        for k in range(c0, c1):
            cells[k], roles[k] = " ", role
        for at in _loop_marks(state, c):
            k = scale.col(at)
            if c0 < k < c1:
                cells[k] = "↻"
        label = f"{c['id']} {c['name']}"
        width = c1 - c0
        label = label if len(label) <= width else (label[: width - 1] + "…" if width > 1 else "▌")
        cells[c0 : c0 + len(label)] = list(label)
    if playhead is not None:  # a line through empty cells; over a clip's label the letter stays, marked
        if cells[playhead] in " ·↻":
            cells[playhead], roles[playhead] = "┃", "playhead"
        else:
            roles[playhead] = "cursor"
    flags = ("M" if t["mute"] else "") + ("S" if t["solo"] else "")
    name = _fit(f"{i} {'♪ ' if t['kind'] == 'midi' else ''}{t['name']}", name_w - len(flags) - 1)
    line = Line().add(name.ljust(name_w - len(flags)), "name" if audible else "muted").add(flags, "flag")
    line.add("│", "ruler")
    start = 0
    for k in range(1, scale.columns + 1):  # runs of one role become one span
        if k == scale.columns or roles[k] != roles[start]:
            line.add("".join(cells[start:k]), roles[start])
            start = k
    return line


def project_lines(
    state: dict | None, width: int, playhead_s: float | None = None, recent: tuple[str, ...] = ()
) -> list[Line]:
    """The whole pane at `width` columns: a title, a bar ruler, a row per track with its clips on the
    timeline (♪ marks a MIDI track, M muted, S solo) and, unless the track is at its defaults, a row
    with its gain, pan and effect chain; then the master bus."""
    width = max(40, width)
    if state is None:
        return [Line().add(chunk, "dim") for chunk in _wrap(EMPTY, width)]
    name_w = 20 if width >= 100 else 14
    scale = timeline_scale(state, width - name_w - 1)
    tracks = tracks_in_order(state)
    end_s = max((clip_end_s(state, c) for c in state["clips"].values()), default=0.0)
    num, den = state["time_signature"]
    title = (
        f"{state['name']} · {state['tempo_bpm']:g} BPM · {num}/{den} · {len(tracks)} track"
        f"{'s' * (len(tracks) != 1)} · {clock_time(end_s)}"
    )
    playhead = None
    head = Line().add(title, "title")
    if playhead_s is not None:
        head.add(f" · ▶ {clock_time(playhead_s)}", "playhead")
        if 0 <= playhead_s < scale.total_s:
            playhead = scale.col(playhead_s)
    if recent and len(head.text) + 4 < width:
        last = _fit(recent[-1], width - len(head.text) - 3)
        head.add(" " * (width - len(head.text) - len(last))).add(last, "dim")
    lines = [head, _ruler(scale, name_w, playhead)]
    soloed = any(t["solo"] for t in tracks)
    for i, t in enumerate(tracks, 1):
        audible = not t["mute"] and (t["solo"] or not soloed)
        lines.append(_track_row(state, t, i, scale, name_w, audible, playhead))
        if t["gain_db"] or t["pan"] or t["effects"]:  # a track at its defaults needs no second row
            gain = f"{t['gain_db']:+g} dB" if t["gain_db"] else "0 dB"
            lines += _chain(
                Line().add("   "), f"{gain} · pan {_pan(t['pan'])}", effects_in_order(t["effects"]), width, 5
            )
    m = state["master"]
    limiter = f"limiter {m['limiter_db']:g} dBFS" if m["limiter_db"] is not None else "limiter off"
    gain = f"{m['gain_db']:+g} dB" if m["gain_db"] else "0 dB"
    master = _chain(
        Line().add("master", "name").add(" "), f"{gain} · {limiter}", effects_in_order(m["effects"]), width, 5
    )
    return lines + master


def _wrap(text: str, width: int) -> list[str]:
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return out + ([line] if line else [])


class ProjectView(Widget, can_focus=True):
    """Draws `project_lines` to the widget's width; `p` plays the latest mix of the project."""

    COMPONENT_CLASSES = {f"project--{role}" for role in ROLES}
    BINDINGS = [Binding("p", "play_mix", "Play mix")]

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.snapshot: Snapshot | None = None
        self.playhead_s: float | None = None

    def lines(self, width: int) -> list[Line]:
        snap = self.snapshot
        return project_lines(snap.state if snap else None, width, self.playhead_s, snap.recent if snap else ())

    def set_playhead(self, seconds: float | None) -> None:
        self.playhead_s = seconds
        self.refresh()

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self.lines(width))

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="crop")
        styles: dict[str, Style] = {}
        for n, line in enumerate(self.lines(self.content_size.width)):
            if n:
                out.append("\n")
            base = len(out)
            out.append(line.text)
            for a, b, role in line.spans:
                style = styles.get(role) or styles.setdefault(role, self.get_component_rich_style(f"project--{role}"))
                out.stylize(style, base + a, base + b)
        return out

    def action_play_mix(self) -> None:
        play = getattr(self.app, "play_project_mix", None)
        if play is not None:
            play()


class ProjectPane(VerticalScroll):
    """The pane (F5 shows or hides it): the view, refreshed from the store; the playhead's clock."""

    def __init__(self, clock: Callable[[], float], **kw) -> None:
        super().__init__(**kw)
        self.clock = clock
        self._play_started: float | None = None
        self._play_length_s = 0.0
        self._timer = None

    def compose(self):
        yield ProjectView(id="project-view")

    @property
    def view(self) -> ProjectView:
        return self.query_one(ProjectView)

    def show_snapshot(self, snapshot: Snapshot | None) -> None:
        self.view.snapshot = snapshot
        self.view.refresh(layout=True)

    # -- the playhead -----------------------------------------------------------------------------
    def start_playhead(self, length_s: float) -> None:
        """A render of the project started playing now: move the playhead with the clock."""
        self._play_started, self._play_length_s = self.clock(), length_s
        self._tick()
        if self._timer is None:
            self._timer = self.set_interval(0.1, self._tick)

    def stop_playhead(self) -> None:
        self._play_started = None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.view.set_playhead(None)

    def _tick(self) -> None:
        if self._play_started is not None:
            self.view.set_playhead(min(self._play_length_s, self.clock() - self._play_started))
