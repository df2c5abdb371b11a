"""Listening status: mic level, VAD state, partial transcript, listening mode — or an honest banner.

It draws a `VoiceStatus` (see ui/messages.py) and nothing else. Until a voice loop is attached it
says so; it never animates a microphone that is not there.
"""

from __future__ import annotations

from rich.markup import escape
from textual.widgets import Static

from ..messages import MODE_LABELS, VoiceStatus

STATE_LABELS = {"idle": "idle", "hearing": "hearing speech", "thinking": "thinking", "speaking": "speaking"}


def level_meter(level_db: float, width: int = 12, floor_db: float = -60.0) -> str:
    fraction = min(1.0, max(0.0, (level_db - floor_db) / -floor_db))
    filled = round(fraction * width)
    return "▮" * filled + "▯" * (width - filled)


class ListeningStatus(Static):
    def __init__(self, **kw) -> None:
        super().__init__("", **kw)
        self.status = VoiceStatus()
        self.turn_state = "idle"  # from the pipeline: thinking/speaking even when typing

    def on_mount(self) -> None:
        self._redraw()

    def set_status(self, status: VoiceStatus) -> None:
        self.status = status
        self._redraw()

    def set_mode(self, mode: str) -> None:
        from dataclasses import replace

        self.status = replace(self.status, mode=mode)
        self._redraw()

    def set_turn_state(self, state: str) -> None:
        self.turn_state = state
        self._redraw()

    @property
    def banner(self) -> bool:
        return not (self.status.voice_loop and self.status.microphone)

    def _redraw(self) -> None:
        s = self.status
        mode = f"[dim]F2[/] {MODE_LABELS[s.mode]}"
        state = s.vad_state if s.voice_loop else self.turn_state
        state_text = f"[b]{STATE_LABELS.get(state, state)}[/b]"
        self.set_class(self.banner, "no-mic")
        self.set_class(state != "idle", "active")
        if not s.voice_loop:
            self.update(f"🎤✗ no voice loop: type below · {state_text} · {mode}")
        elif not s.microphone:
            self.update(f"🎤✗ no microphone: type below · {state_text} · {mode}")
        else:
            partial = f"  “{escape(s.partial)}”" if s.partial else ""
            self.update(f"🎤 {level_meter(s.level_db)} {state_text} · {mode}{partial}")
