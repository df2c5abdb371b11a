"""The conversation pane: user turns, assistant replies, and one card per tool run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import ProgressBar, Static

from ...events import ToolFinished, ToolProgress

MIC = "🎤"


def _args_text(args: dict, limit: int = 200) -> str:
    text = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in args.items())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class UserTurn(Static):
    """What the user typed, or said (with a mic glyph before the transcript)."""

    def __init__(self, text: str, source: str = "typed") -> None:
        glyph = MIC if source == "spoken" else "›"
        super().__init__(f"[b]{glyph} you[/b]  {escape(text)}")
        self.text = text
        self.source = source
        self.add_class(source)


class AssistantReply(Static):
    """The assistant's reply: the plan's line first, the final text when the turn ends, and a mark on
    each sentence as it is spoken."""

    def __init__(self) -> None:
        super().__init__("[dim]thinking…[/]")
        self.plan_line = ""
        self.text = ""
        self.spoken: list[str] = []
        self.state = "thinking"

    def _redraw(self) -> None:
        parts = []
        if self.plan_line:
            parts.append(f"[dim]{escape(self.plan_line)}[/]")
        if self.text:
            parts.append(escape(self.text))
        elif self.spoken:  # a streamed spoken answer, or the greeting: no Reply text (yet)
            parts.append(escape(" ".join(self.spoken)))
        elif self.state == "thinking":
            parts.append("[dim]thinking…[/]")
        if self.spoken and self.state == "speaking":
            parts.append(f"[dim]🔊 speaking ({len(self.spoken)})[/]")
        if self.state == "interrupted":
            parts.append("[b]⏹ interrupted[/b]")
        self.update("[b]earshot[/b]  " + "\n".join(parts))

    def set_plan(self, steps: tuple[dict, ...], say: str | None) -> None:
        if steps:
            self.plan_line = "plan: " + " → ".join(s["tool"] for s in steps)
        if say and not self.text:
            self.text = say  # what the planner wants to say arrives before any tool runs
        self._redraw()

    def set_text(self, text: str) -> None:
        self.text = text
        self.state = "done"
        self._redraw()

    def add_sentence(self, sentence: str) -> None:
        self.spoken.append(sentence)
        self.state = "speaking"
        self._redraw()

    def finish(self) -> None:
        if self.state == "speaking":
            self.state = "done"
            self._redraw()

    def mark_interrupted(self) -> None:
        self.state = "interrupted"
        self.add_class("interrupted")
        self._redraw()


class ToolCard(Vertical):
    """One tool run: tool name, arguments, progress, elapsed time, then its result or error.

    Events can arrive before the card has composed its children, so the card keeps its state and
    draws it whenever it can (`_sync`)."""

    def __init__(self, step: int, tool: str, args: dict, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(classes="tool-card running")
        self.step = step
        self.tool = tool
        self.args = args
        self.status = "running"
        self._clock = clock
        self._started = clock()
        self._fraction: float | None = None
        self._result = ""
        self._duration_s: float | None = None
        self._timer = None

    def compose(self) -> ComposeResult:
        yield Static(self._header(), classes="tool-head")
        yield Static(escape(_args_text(self.args)) or "[dim](no arguments)[/]", classes="tool-args")
        yield ProgressBar(total=None, show_eta=False, show_percentage=True, classes="tool-progress")
        yield Static("", classes="tool-result")

    def on_mount(self) -> None:
        if self.status == "running":
            self._timer = self.set_interval(0.5, self._sync)
        self.call_after_refresh(self._sync)  # children exist after the first refresh

    def _header(self) -> str:
        mark = {"running": "▶", "ok": "✓", "failed": "✗", "timeout": "⌛", "cancelled": "⏹"}.get(self.status, "?")
        elapsed = self._duration_s if self._duration_s is not None else self._clock() - self._started
        return f"[b]{mark} {self.step}. {escape(self.tool)}[/b]  [dim]{elapsed:.1f} s[/]"

    def _sync(self) -> None:
        if not self.is_mounted or not self.children:
            return
        self.query_one(".tool-head", Static).update(self._header())
        bar = self.query_one(ProgressBar)
        if self._fraction is not None:
            bar.update(total=100, progress=round(self._fraction * 100))
        bar.display = self.status == "running"  # the outcome line replaces the bar when done
        self.query_one(".tool-result", Static).update(self._result)
        if self.status != "running" and self._timer is not None:
            self._timer.stop()
            self._timer = None

    def _set_status(self, status: str) -> None:
        self.remove_class(self.status)
        self.status = status
        self.add_class(status)

    def progress(self, event: ToolProgress) -> None:
        self._fraction = event.fraction
        if event.message:
            self._result = f"[dim]{escape(event.message)}[/]"
        self._sync()

    def finish(self, event: ToolFinished) -> None:
        self._set_status(event.status)
        self._duration_s = event.duration_s
        if event.status == "ok":
            made = "  ".join(f"@{a.id} {a.name}" for a in event.artifacts)
            self._result = escape(event.summary or "done") + (f"\n[dim]→ {escape(made)}[/]" if made else "")
        else:
            self._result = f"[b]{event.status}:[/b] " + escape(event.error or event.summary or "")
        self._sync()

    def interrupt(self) -> None:
        if self.status == "running":
            self._duration_s = self._clock() - self._started
            self._set_status("cancelled")
            self._result = "[b]interrupted[/b]"
            self._sync()


class Notice(Static):
    """A system line in the conversation: slash-command output, errors, a rejected plan."""

    def __init__(self, text: str, kind: str = "info") -> None:
        super().__init__(text, classes=f"notice {kind}")


class Conversation(VerticalScroll):
    """Scrolls to the newest entry as entries arrive (unless the user scrolled up to read)."""

    can_focus = True

    def add(self, widget) -> None:
        follow = self.max_scroll_y - self.scroll_y <= 2
        self.mount(widget)
        if follow:
            self.call_after_refresh(self.scroll_end, animate=False)

    def cards(self) -> list[ToolCard]:
        return list(self.query(ToolCard))
