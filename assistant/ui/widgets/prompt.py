"""The input box: history on ↑/↓, completion of `@` artifact ids, workspace files and slash commands."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from textual.binding import Binding
from textual.suggester import Suggester
from textual.widgets import Input

ARTIFACT_REF = re.compile(r"@(a\d+|last)")

SLASH_COMMANDS = {
    "/help": "keys and commands",
    "/tools": "what Earshot can do",
    "/models": "models in use and the device they run on",
    "/session": "this session: id, workspace, turns, files",
    "/undo": "undo the last change to the studio project",
    "/clear": "clear the conversation pane (the session keeps everything)",
    "/quit": "leave (nothing is lost; the session resumes next time)",
}


class RefSuggester(Suggester):
    """Completes the last word: `@a` → artifact ids, `@na` → workspace file names, `/h` → /help."""

    def __init__(self, candidates: Callable[[], list[str]]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.candidates = candidates

    async def get_suggestion(self, value: str) -> str | None:
        if value.startswith("/") and " " not in value:
            for cmd in SLASH_COMMANDS:
                if cmd.startswith(value) and cmd != value:
                    return cmd
            return None
        head, _, word = value.rpartition(" ")
        if not word.startswith("@") or len(word) < 2:
            return None
        for cand in self.candidates():
            if cand.startswith(word) and cand != word:
                return (head + " " if head else "") + cand
        return None


def workspace_files(workspace: Path, limit: int = 200) -> list[str]:
    try:
        return sorted(p.name for p in workspace.iterdir() if p.is_file() and not p.name.startswith("."))[:limit]
    except OSError:
        return []


class PromptInput(Input):
    BINDINGS = [
        Binding("up", "history(-1)", "History", show=False),
        Binding("down", "history(1)", "History", show=False),
        Binding("tab", "complete", "Complete", show=False),
    ]

    def __init__(self, candidates: Callable[[], list[str]], **kw) -> None:
        super().__init__(suggester=RefSuggester(candidates), **kw)
        self.history: list[str] = []
        self._index: int | None = None
        self._draft = ""

    def remember(self, text: str) -> None:
        if text and (not self.history or self.history[-1] != text):
            self.history.append(text)
        self._index = None

    def action_history(self, step: int) -> None:
        if not self.history:
            return
        if self._index is None:
            if step > 0:
                return
            self._draft = self.value
            self._index = len(self.history)
        self._index += step
        if self._index >= len(self.history):
            self._index = None
            self.value = self._draft
        else:
            self._index = max(0, self._index)
            self.value = self.history[self._index]
        self.cursor_position = len(self.value)

    def action_complete(self) -> None:
        if self._suggestion:
            value = self._suggestion
            head, _, word = value.rpartition(" ")
            if word.startswith("@") and not ARTIFACT_REF.fullmatch(word):
                # "@" only finds a workspace file; the plan names files plainly (`@name` is not a reference)
                value = (head + " " if head else "") + word[1:]
            self.value = value
            if not self.value.startswith("/"):
                self.value += " "
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()

    def insert_ref(self, ref: str) -> None:
        value = self.value
        if value and not value.endswith(" "):
            value += " "
        self.value = value + ref + " "
        self.cursor_position = len(self.value)
        self.focus()
