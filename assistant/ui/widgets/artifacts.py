"""The artifacts pane: every file of the session, a preview of the selected one, and keys to act on it."""

from __future__ import annotations

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from ...store.session import Artifact
from ..messages import ArtifactChosen
from .waveform import Waveform, peaks


def _duration(a: Artifact) -> str:
    if a.duration_s is None:
        return "—"
    m, s = divmod(a.duration_s, 60)
    return f"{int(m)}:{s:04.1f}" if m else f"{s:.1f} s"


def _rate(a: Artifact) -> str:
    return f"{a.sample_rate_hz / 1000:g}k" if a.sample_rate_hz else "—"


def provenance(a: Artifact) -> str:
    if not a.tool:
        return "your file"
    return a.tool + (" of " + ", ".join(a.parents) if a.parents else "")


class ArtifactsPane(Vertical):
    BINDINGS = [
        Binding("p", "play", "Play/stop"),
        Binding("i", "insert", "Use @id"),
        Binding("o", "reveal", "Path"),
        Binding("r", "rename", "Rename"),
    ]

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.artifacts: list[Artifact] = []

    def compose(self) -> ComposeResult:
        yield Static("Files", classes="pane-title")
        table = DataTable(id="artifact-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("id", "name", "length", "rate", "from")
        yield table
        yield Static("[dim]no files yet: name one in a request, e.g. “describe memo.wav”[/]", id="artifact-detail")
        yield Waveform(id="waveform")

    @property
    def table(self) -> DataTable:
        return self.query_one(DataTable)

    def selected(self) -> Artifact | None:
        table = self.table
        if not self.artifacts or table.cursor_row is None or table.cursor_row >= len(self.artifacts):
            return None
        return self.artifacts[table.cursor_row]

    def set_artifacts(self, artifacts: list[Artifact], select_last: bool = False) -> None:
        table = self.table
        keep = table.cursor_row
        self.artifacts = list(artifacts)
        table.clear()
        for a in self.artifacts:
            table.add_row(a.id, a.name, _duration(a), _rate(a), provenance(a), key=a.id)
        if self.artifacts:
            row = len(self.artifacts) - 1 if select_last else min(keep or 0, len(self.artifacts) - 1)
            table.move_cursor(row=row)
            self._show(self.artifacts[row])

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        a = self.selected()
        if a is not None:
            self._show(a)

    def _show(self, a: Artifact) -> None:
        bits = [f"[b]@{a.id}[/b] {escape(a.name)}  [dim]{a.kind}[/]"]
        facts = [
            x
            for x in (
                _duration(a) if a.duration_s is not None else "",
                f"{a.sample_rate_hz} Hz" if a.sample_rate_hz else "",
                f"{a.channels} ch" if a.channels else "",
            )
            if x
        ]
        if facts:
            bits.append(" · ".join(facts))
        bits.append(f"from: {escape(provenance(a))}")
        self.query_one("#artifact-detail", Static).update("\n".join(bits))
        wave = self.query_one(Waveform)
        if a.duration_s is not None and a.sample_rate_hz:
            wave.show(None, "drawing…")
            self._load_peaks(a)
        else:
            wave.show(None, f"({a.kind} file: no waveform)")

    @work(thread=True, exclusive=True, group="waveform")
    def _load_peaks(self, a: Artifact) -> None:
        try:
            values = peaks(a.path)
            message = ""
        except Exception as exc:  # a deleted or unreadable file: say so in the preview, keep the list
            values, message = None, f"cannot read {a.path.name}: {exc}"
        self.app.call_from_thread(self._peaks_ready, a, values, message)

    def _peaks_ready(self, a: Artifact, values, message: str) -> None:
        if self.selected() is a or (self.selected() and self.selected().num == a.num):
            self.query_one(Waveform).show(values, message)

    # -- actions (the app does the work that needs the player or the input box) ---------------
    def action_play(self) -> None:
        a = self.selected()
        if a is None:
            self.notify("no file selected", severity="warning")
            return
        self.app.toggle_play(a)

    def action_insert(self) -> None:
        a = self.selected()
        if a is not None:
            self.post_message(ArtifactChosen(a.ref))

    def action_reveal(self) -> None:
        a = self.selected()
        if a is None:
            return
        self.app.copy_to_clipboard(str(a.path))
        self.notify(str(a.path), title=f"@{a.id} (path copied)", timeout=8)

    def action_rename(self) -> None:
        a = self.selected()
        if a is not None:
            self.screen.rename_artifact(a)
