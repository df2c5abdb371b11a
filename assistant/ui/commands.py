"""The TUI's slash commands: /help, /tools, /models, /session, /undo, /clear, /quit."""

from __future__ import annotations

from rich.markup import escape

from .widgets.conversation import Notice
from .widgets.prompt import SLASH_COMMANDS


def run_command(app, text: str) -> None:
    cmd, _, _rest = text.partition(" ")
    handler = COMMANDS.get(cmd)
    if handler is None:
        app.main.conversation.add(Notice(f"unknown command {escape(cmd)} — try {', '.join(SLASH_COMMANDS)}", "warning"))
        return
    handler(app)


def _tools(app) -> None:
    lines = [
        f"[b]{t.name}[/b]  {escape(t.spec.summary)}" + ("" if t.spec.learned else " [dim](signal processing)[/]")
        for t in app.ensure_assistant().registry
    ]
    app.main.conversation.add(Notice("[b]Tools[/b]\n" + "\n".join(lines)))


def _models(app) -> None:
    store = app.ensure_assistant().models
    m = app.config.models
    rows = [
        ("planner", app.llm_name),
        ("speech recognition", m.asr),
        ("speech synthesis", m.tts),
        ("denoiser", m.denoiser),
    ]
    lines = [
        f"{role}: [b]{escape(name)}[/b] " + ("" if store.installed(name) else "[b]not installed[/b]")
        for role, name in rows
    ]
    lines.append(f"device: {app.device}" + ("" if app.models_ready else " · planner not loaded yet"))
    app.main.conversation.add(Notice("[b]Models[/b]\n" + "\n".join(lines)))


def _session(app) -> None:
    session, turns = app.session, app.ui_session.turns()
    app.main.conversation.add(
        Notice(
            f"[b]Session[/b] {session.id}\nworkspace: {escape(str(session.workspace))}\n"
            f"{len(turns)} turns, {len(app.main.artifacts_pane.artifacts)} files · "
            f"store: {escape(str(app.config.paths.database_path))}\n"
            "[dim]resume it later with: earshot --session " + session.id + "[/]"
        )
    )


COMMANDS = {
    "/help": lambda app: app.action_help(),
    "/quit": lambda app: app.run_worker(app.action_quit()),
    "/exit": lambda app: app.run_worker(app.action_quit()),
    "/clear": lambda app: app.main.conversation.remove_children(),
    "/tools": _tools,
    "/models": _models,
    "/session": _session,
    "/undo": lambda app: app.submit("undo the last change to the project"),
}
