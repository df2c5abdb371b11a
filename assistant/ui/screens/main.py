"""The main screen: conversation on the left, files on the right, the studio project (F5) under them,
listening status and input below — and how each pipeline event becomes widgets."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header

from ...events import (
    ErrorEvent,
    Event,
    Interrupted,
    PlanReady,
    PlanRejected,
    PlaybackStopped,
    Reply,
    ReplySentence,
    ToolFinished,
    ToolProgress,
    ToolStarted,
    TurnStarted,
)
from ..widgets.artifacts import ArtifactsPane
from ..widgets.conversation import AssistantReply, Conversation, Notice, ToolCard, UserTurn
from ..widgets.listening import ListeningStatus
from ..widgets.project import ProjectPane
from ..widgets.prompt import PromptInput
from ..widgets.status import StatusLine

_RUN_MARKS = {"ok": "✓", "failed": "✗", "cancelled": "⏹", "timeout": "⌛"}


class MainScreen(Screen):
    def __init__(self, candidates, on_ready=None) -> None:
        super().__init__()
        self._candidates = candidates
        self._on_ready = on_ready
        self._reply: AssistantReply | None = None
        self._cards: dict[int, ToolCard] = {}
        self.project_seq: int | None = None  # the project change the pane shows (None: no project)
        self._project_hidden = False  # the user hid the pane with F5

    def compose(self) -> ComposeResult:
        yield Header(icon="◉")
        with Horizontal(id="body"):
            yield Conversation(id="conversation")
            yield ArtifactsPane(id="artifacts")
        yield ProjectPane(lambda: self.app.clock(), id="project")
        yield ListeningStatus(id="listening")
        yield PromptInput(self._candidates, id="prompt", placeholder="Ask: “describe memo.wav” · @ for files · /help")
        yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(PromptInput).focus()
        if self._on_ready is not None:
            self._on_ready()

    # -- widgets ------------------------------------------------------------------------------------
    @property
    def conversation(self) -> Conversation:
        return self.query_one(Conversation)

    @property
    def artifacts_pane(self) -> ArtifactsPane:
        return self.query_one(ArtifactsPane)

    @property
    def project_pane(self) -> ProjectPane:
        return self.query_one(ProjectPane)

    @property
    def listening(self) -> ListeningStatus:
        return self.query_one(ListeningStatus)

    # -- the session: history, files, project -------------------------------------------------------
    def rename_artifact(self, artifact) -> None:
        """A label for the file in this session (the file on disk keeps its name)."""

        def done(name: str | None) -> None:
            if name and name != artifact.name:
                self.app.ui_session.rename_artifact(artifact.num, name)
                self.app.refresh_artifacts()
                self.notify(f"@{artifact.id} is now “{name}”", timeout=3)

        from .dialogs import RenameScreen

        self.app.push_screen(RenameScreen(artifact.ref, artifact.name), done)

    def load_history(self, session) -> None:
        """A resumed session shows its earlier turns (compactly): nothing is lost between runs."""
        conv = self.conversation
        for turn, _plans, runs in session.iter_history():
            conv.add(UserTurn(turn["user_text"], turn["source"]))
            for r in runs:
                mark = _RUN_MARKS.get(r["status"], "…")
                conv.add(
                    Notice(
                        f"{mark} {r['step']}. {escape(r['tool'])}  [dim]{escape(r['summary'] or r['error'] or '')}[/]",
                        "history",
                    )
                )
            text = turn["reply_text"] or (f"[{turn['status']}] {turn['error'] or ''}")
            conv.add(Notice(f"[b]earshot[/b]  {escape(text)}", "history"))
        if not conv.children:
            conv.add(
                Notice(
                    "Type what to do with your audio, e.g. [b]describe memo.wav[/b] or [b]remove the hiss from "
                    "@a2[/b], and press Enter. Files in the workspace complete after [b]@[/b] (Tab); "
                    "[b]F1[/b] lists keys and /commands.",
                    "welcome",
                )
            )

    def show_project(self, snapshot) -> bool:
        """Redraw the project pane; it opens by itself when a project first appears. True if it changed."""
        seq = snapshot.seq if snapshot else None
        if seq is not None and self.project_seq is None and not self._project_hidden:
            self.project_pane.add_class("-shown")
        if seq == self.project_seq:
            return False
        self.project_seq = seq
        self.project_pane.show_snapshot(snapshot)
        return True

    def toggle_project(self) -> None:
        self.project_pane.toggle_class("-shown")
        self._project_hidden = not self.project_pane.has_class("-shown")

    # -- a turn's events ----------------------------------------------------------------------------
    def show(self, event: Event) -> None:
        """Draw one pipeline event (the Transcript before a spoken turn is drawn by its TurnStarted)."""
        conv = self.conversation
        if isinstance(event, TurnStarted):
            self._cards = {}
            conv.add(UserTurn(event.text, event.source))
            self._reply = AssistantReply()
            conv.add(self._reply)
            self.listening.set_turn_state("thinking")
        elif isinstance(event, PlanReady):
            self.current_reply().set_plan(event.steps, event.say)
        elif isinstance(event, PlanRejected):
            conv.add(Notice(f"⚠ plan rejected: {escape(event.error)}", "warning"))
        elif isinstance(event, ToolStarted):
            card = ToolCard(event.step, event.tool, event.args, clock=self.app.clock)
            self._cards[event.step] = card
            # Cards go before the reply, which stays last: the answer reads after the work.
            conv.mount(card, before=self.current_reply())
            conv.call_after_refresh(conv.scroll_end, animate=False)
        elif isinstance(event, ToolProgress):
            if card := self._cards.get(event.step):
                card.progress(event)
        elif isinstance(event, ToolFinished):
            if card := self._cards.get(event.step):
                card.finish(event)
        elif isinstance(event, Reply):
            self.current_reply().set_text(event.text)
        elif isinstance(event, ReplySentence):
            self.current_reply().add_sentence(event.text)
            self.listening.set_turn_state("speaking")
        elif isinstance(event, PlaybackStopped):
            if self._reply is not None:
                self._reply.finish()
            if not self.app.busy:
                self._reply = None  # speech outside a turn (the voice loop's greeting) is complete
        elif isinstance(event, Interrupted):
            self.current_reply().mark_interrupted()
            for card in self._cards.values():
                card.interrupt()
        elif isinstance(event, ErrorEvent):
            conv.add(
                Notice(
                    f"⚠ {escape(event.message)}" + (f" [dim]— {escape(event.hint)}[/]" if event.hint else ""), "error"
                )
            )

    def turn_done(self) -> None:
        self.listening.set_turn_state("idle")
        if self._reply is not None:
            self._reply.finish()

    def new_turn(self) -> None:
        """A typed request was taken: its reply starts afresh."""
        self._reply = None
        self._cards = {}

    def current_reply(self) -> AssistantReply:
        if self._reply is None:
            self._reply = AssistantReply()
            self.conversation.add(self._reply)
        return self._reply
