"""Modal screens: help, and the rename prompt."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Markdown, Static

from ..widgets.prompt import SLASH_COMMANDS

HELP = (
    """\
# Earshot

Type what you want done to your audio files, e.g. **describe memo.wav** or
**remove the hiss from @a2**; press **Enter**. Every result is a new file in the session
workspace; nothing leaves this machine.

| key | does |
|---|---|
| Enter | send the request |
| ↑ / ↓ | previous / next request |
| Tab | complete `@a3`, `@` + a workspace file name, or a `/command` |
| Esc, Ctrl+C | interrupt the running turn |
| F1 | this help |
| F2 | switch listening mode (always / push-to-talk / wake phrase) |
| F3 | go to the file list |
| F4 | push-to-talk: start / end speaking (in push-to-talk mode) |
| F5 | show / hide the studio project: tracks, clips on the timeline, effect chains (**p** there plays the latest mix, with a playhead) |
| Ctrl+Q | quit (the session is kept; `earshot` resumes it) |

In the file list: **p** play/stop, **i** put `@id` into the request, **o** show and copy
the path, **r** rename.

| command | does |
|---|---|
"""
    + "\n".join(f"| {cmd} | {text} |" for cmd, text in SLASH_COMMANDS.items())
    + "\n"
)


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Markdown(HELP)


class RenameScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, ref: str, name: str) -> None:
        super().__init__()
        self.ref = ref
        self.current = name

    def compose(self) -> ComposeResult:
        with Vertical(id="rename-box", classes="dialog"):
            yield Static(f"New name for {self.ref} (the file on disk keeps its name):")
            yield Input(self.current, id="rename-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        self.dismiss(name or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
