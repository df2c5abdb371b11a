"""The main screen: conversation on the left, files on the right, the studio project (F5) under them,
listening status and input below."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header

from ..widgets.artifacts import ArtifactsPane
from ..widgets.conversation import Conversation
from ..widgets.listening import ListeningStatus
from ..widgets.project import ProjectPane
from ..widgets.prompt import PromptInput
from ..widgets.status import StatusLine


class MainScreen(Screen):
    def __init__(self, candidates, on_ready=None) -> None:
        super().__init__()
        self._candidates = candidates
        self._on_ready = on_ready

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        with Horizontal(id="body"):
            yield Conversation(id="conversation")
            yield ArtifactsPane(id="artifacts")
        yield ProjectPane(lambda: self.app.clock(), id="project")
        yield ListeningStatus(id="listening")
        yield PromptInput(self._candidates, id="prompt",
                          placeholder="Ask: “describe memo.wav” · @ for files · /help")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(PromptInput).focus()
        if self._on_ready is not None:
            self._on_ready()
