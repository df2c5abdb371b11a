"""The status line: session, model loading progress, active models and the device they run on."""
from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static


class StatusLine(Horizontal):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.models_text = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="status-models")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="status-progress")
        yield Static("", id="status-session")

    def set_models(self, text: str, loading: bool, fraction: float | None = None, error: bool = False) -> None:
        self.models_text = text
        self.query_one("#status-models", Static).update(escape(text))
        bar = self.query_one(ProgressBar)
        bar.display = loading
        if loading and fraction is not None:
            bar.update(total=100, progress=round(fraction * 100))
        self.set_class(error, "error")

    def set_session(self, text: str) -> None:
        self.query_one("#status-session", Static).update(escape(text))
