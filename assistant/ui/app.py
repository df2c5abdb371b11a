"""EarshotApp: the Textual front end — start-up, key bindings, and the turn state (busy or not).

Threads: the UI thread draws. Every turn, typed or spoken, runs on the voice loop's thread
(ui/voice_bridge.py, voice/loop.py); its events come back as `PipelineEvent` messages (post_message is
thread-safe) and the main screen (ui/screens/main.py) turns them into widgets. The loop's session
connection writes; the UI reads through its own connection to the same WAL database, so drawing never
waits on a tool and nothing recorded depends on the UI staying open. Slash commands: ui/commands.py;
playing files: ui/playback.py.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from rich.markup import escape
from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Input

from ..config import EarshotConfig
from ..errors import EarshotError
from ..events import Event, ToolFinished, TurnStarted
from ..store.session import Artifact, Session, SessionStore
from .commands import run_command
from .messages import (
    LISTENING_MODES,
    MODE_LABELS,
    ArtifactChosen,
    ModelsStatus,
    PipelineEvent,
    TurnDone,
    VoiceControl,
    VoiceStatusChanged,
)
from .playback import ArtifactPlayer, project_mixes
from .screens.main import MainScreen
from .widgets.conversation import Notice
from .widgets.prompt import workspace_files
from .widgets.status import inference_device


class EarshotApp(App):
    CSS_PATH = "earshot.tcss"
    TITLE = "Earshot"
    BINDINGS = [
        Binding("ctrl+c", "interrupt", "Interrupt", priority=True, show=False),
        Binding("escape", "interrupt", "Stop"),
        Binding("f1", "help", "Help"),
        Binding("f2", "cycle_mode", "Mode"),
        Binding("f3", "focus_files", "Files"),
        Binding("f4", "talk", "Talk"),
        Binding("f5", "toggle_project", "Project"),  # shown once the session has a project
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        config: EarshotConfig,
        session: Session,
        *,
        llm_name: str | None = None,
        speak: bool = True,
        autoload: bool = True,
        voice_loop: VoiceControl | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_first_paint: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.session = session  # written by the voice loop's thread
        self.ui_session = SessionStore(config.paths.database_path).open_session(session.id)  # read here
        self.llm_name = llm_name or config.models.llm
        self.speak = speak
        self.autoload = autoload
        if voice_loop is None:  # no microphone wanted: the loop runs typed turns only
            from .voice_bridge import TuiVoice

            voice_loop = TuiVoice(config, speak=speak, listen=False)
        self.voice = voice_loop
        self.clock = clock
        self.on_first_paint = on_first_paint
        self.assistant = None  # built after the first frame: start-up stays fast
        self.busy = False
        self.models_ready = False
        self.mode = "always"
        self.device = "CPU"
        self._settled = threading.Event()  # the running turn is recorded (set from the loop's thread)
        self._settled.set()
        self._assistant_lock = threading.Lock()
        self._voice_started = False
        self.player = ArtifactPlayer(self, config.speech.output_device, self._play_done)

    # -- start-up ---------------------------------------------------------------------------
    def get_default_screen(self) -> MainScreen:
        self.main = MainScreen(self._completion_candidates, on_ready=self._setup)
        return self.main

    def _setup(self) -> None:
        """Runs once the main screen is composed: fill it, then start the voice loop and the models."""
        self.sub_title = f"session {self.session.id}"
        self.main.query_one("#status").set_session(f"{self.session.workspace}")
        self._show_models(loading=self.autoload)
        self.main.load_history(self.ui_session)
        self.refresh_artifacts()
        self.refresh_project()
        # After the first frame: building the Assistant imports the whole pipeline and the loop opens the
        # audio devices; importing llama.cpp holds the GIL and would delay the first paint.
        self.call_after_refresh(lambda: self.set_timer(0.02, self._start_voice))
        if self.autoload:
            self.call_after_refresh(lambda: self.set_timer(0.05, self._load_models))
        if self.on_first_paint is not None:
            self.call_after_refresh(self.on_first_paint)

    def _start_voice(self) -> None:
        if self._voice_started:
            return
        self._voice_started = True
        self.voice.bind(self.ensure_assistant(), self._emit, self._turn_done)
        self.voice.start(lambda s: self.post_message(VoiceStatusChanged(s)))

    def ensure_assistant(self):
        with self._assistant_lock:  # the loading worker and the voice loop may race to build it
            if self.assistant is None:
                from ..pipeline import Assistant

                self.assistant = Assistant(self.config, self.session, emit=self._emit, llm_name=self.llm_name)
        return self.assistant

    @work(thread=True, exclusive=True, group="models")
    def _load_models(self) -> None:
        t0 = time.perf_counter()
        try:
            self.post_message(ModelsStatus(f"loading planner {self.llm_name}…", 0.3))
            self.ensure_assistant().load()  # the only model a typed turn needs first; the rest load on first use
        except EarshotError as exc:
            self.post_message(
                ModelsStatus(
                    f"planner {self.llm_name} unavailable",
                    done=True,
                    error=f"{exc.message} — {exc.hint}" if exc.hint else exc.message,
                )
            )
            return
        self.device = inference_device(self.config)
        self.post_message(ModelsStatus(f"ready in {time.perf_counter() - t0:.1f} s", 1.0, done=True))

    def _show_models(self, loading: bool = False, fraction: float | None = None) -> None:
        m = self.config.models
        state = "loading " if loading else ("" if self.models_ready else "(not loaded) ")
        line = f"{state}{self.llm_name} · {m.asr} · tts {m.tts if self.speak else 'off'} · {self.device}"
        self.main.query_one("#status").set_models(line, loading=loading, fraction=fraction)

    def on_models_status(self, message: ModelsStatus) -> None:
        if not message.done:
            self._show_models(loading=True, fraction=message.fraction)
            return
        self.models_ready = message.error is None
        if message.error:
            self.main.query_one("#status").set_models(message.text, loading=False, error=True)
            self.main.conversation.add(Notice(f"⚠ {escape(message.error)}", "error"))
        else:
            self._show_models()

    def on_unmount(self) -> None:
        """However the app ends (Ctrl+Q, a test's end, an error): the voice loop's thread ends with it,
        interrupting a running turn, which is recorded as such."""
        self.player.stop()
        self.voice.stop()

    # -- the session's files and project ------------------------------------------------------
    def _completion_candidates(self) -> list[str]:
        refs = [a.ref for a in reversed(self.main.artifacts_pane.artifacts)] + ["@last"]
        return refs + ["@" + name for name in workspace_files(self.session.workspace)]

    def refresh_artifacts(self, select_last: bool = False) -> None:
        self.main.artifacts_pane.set_artifacts(self.ui_session.artifacts(), select_last=select_last)

    def refresh_project(self) -> None:
        from ..project.store import peek

        if self.main.show_project(peek(self.ui_session)):
            self.refresh_bindings()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "toggle_project":
            return self.main.project_seq is not None  # no project: nothing to show, the key stays out of the footer
        return True

    def action_toggle_project(self) -> None:
        self.main.toggle_project()

    # -- requests and turns -----------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    def _on_prompt(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        prompt = self.main.query_one("#prompt")
        prompt.remember(text)
        if text.startswith("/"):
            prompt.value = ""
            run_command(self, text)
        elif self.submit(text):
            prompt.value = ""

    def submit(self, text: str) -> bool:
        """A typed request, run on the voice loop. False (and the reason shown) when it cannot be taken
        now: the prompt keeps the text, nothing is lost."""
        if self.busy:
            self.notify("a turn is still running — Esc interrupts it", severity="warning")
            return False
        self._start_voice()  # a request typed before the first frame was drawn
        try:
            self.voice.run_text(text)
        except EarshotError as exc:
            self.notify(f"{exc.message} — {exc.hint}" if exc.hint else exc.message, severity="warning", timeout=6)
            return False
        self.busy = True
        self._settled.clear()
        self.main.new_turn()
        return True

    def _turn_done(self) -> None:
        """From the voice loop's thread: a turn (spoken or typed) has ended and is recorded."""
        self._settled.set()
        self.post_message(TurnDone())

    def _emit(self, event: Event) -> None:
        self.post_message(PipelineEvent(event))

    def on_turn_done(self, _message: TurnDone) -> None:
        self.busy = False
        self.main.turn_done()
        self._show_models()
        self.refresh_artifacts()
        self.refresh_project()

    def on_pipeline_event(self, message: PipelineEvent) -> None:
        event = message.event
        if isinstance(event, TurnStarted) and not self.busy:  # a spoken turn the voice loop started by itself
            self.busy = True
            self._settled.clear()
        try:
            self.main.show(event)
        except NoMatches:  # the app is closing; the store already holds the event's facts
            return
        if isinstance(event, ToolFinished):
            if event.artifacts:
                self.refresh_artifacts(select_last=True)
            self.refresh_project()

    # -- actions ----------------------------------------------------------------------------
    def action_interrupt(self) -> None:
        if self.screen is not self.main:  # a dialog is open: Esc closes it
            self.screen.dismiss(None)
            return
        if self.player.playing is not None:
            self.player.stop()
        if not self.busy:
            if self.player.playing is None:
                self.notify("nothing is running (Ctrl+Q quits)", timeout=3)
            return
        self.main.query_one("#status").set_models("stopping…", loading=False)
        self.voice.interrupt()  # the same stop as a barge-in: the turn records what was heard

    async def action_quit(self) -> None:
        """Quit, mid-turn too: the turn is interrupted and recorded before the app goes away."""
        if self.busy:
            self.voice.interrupt()
            deadline = time.monotonic() + 10.0
            while not self._settled.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        self.player.stop()
        self.voice.stop()
        self.exit()

    def action_help(self) -> None:
        from .screens.dialogs import HelpScreen  # Markdown is slow to import: not on the start-up path

        self.push_screen(HelpScreen())

    def action_focus_files(self) -> None:
        self.main.artifacts_pane.table.focus()

    def action_cycle_mode(self) -> None:
        self.mode = LISTENING_MODES[(LISTENING_MODES.index(self.mode) + 1) % len(LISTENING_MODES)]
        self.voice.set_mode(self.mode)
        self.main.listening.set_mode(self.mode)
        self.notify(f"listening mode: {MODE_LABELS[self.mode]}", timeout=3)

    def action_talk(self) -> None:
        if self.mode != "push_to_talk":
            self.notify("F4 talks in push-to-talk mode (F2 switches modes)", timeout=4)
        else:
            self.voice.talk()

    def on_voice_status_changed(self, message: VoiceStatusChanged) -> None:
        self.mode = message.status.mode
        try:
            self.main.listening.set_status(message.status)
        except NoMatches:  # the app is closing while the voice thread still reports
            pass

    def on_artifact_chosen(self, message: ArtifactChosen) -> None:
        self.main.query_one("#prompt").insert_ref(message.ref)

    # -- files: play ----------------------------------------------------------------
    def toggle_play(self, artifact: Artifact) -> None:
        if self.player.playing is not None:
            self.player.stop()
            return
        if artifact.duration_s is None:
            self.main.conversation.add(Notice(f"⚠ @{artifact.id} is a {artifact.kind} file, not audio", "warning"))
            return
        self.notify(f"playing @{artifact.id} {artifact.name} (p or Esc stops)", timeout=3)
        if artifact.tool == "render_project":  # a render starts at the project's time 0
            self.main.project_pane.start_playhead(artifact.duration_s)
        self.player.start(artifact)

    def play_project_mix(self) -> None:
        """Play (or stop) the newest mixdown of the project; the pane's playhead follows it."""
        mixes = project_mixes(self.ui_session)
        if not mixes:
            self.notify('no mix of the project yet: say "render the song"', severity="warning", timeout=4)
            return
        if self.player.playing is None and mixes[-1].meta.get("project_seq") != self.main.project_seq:
            self.notify(f"@{mixes[-1].id} was rendered before the latest changes", timeout=4)
        self.toggle_play(mixes[-1])

    def _play_done(self, error: str | None) -> None:
        self.main.project_pane.stop_playhead()
        if error:
            self.main.conversation.add(Notice(f"⚠ {escape(error)}", "error"))
            self.notify(error, severity="error", timeout=8)


def run_tui(
    config: EarshotConfig, session: Session, *, llm_name: str | None = None, speak: bool = True, listen: bool = True
) -> int:
    """`earshot` on a terminal: listening on the microphone unless `listen` is False; without a
    microphone the listening line says so and typing works as ever."""
    from .voice_bridge import TuiVoice

    EarshotApp(config, session, llm_name=llm_name, speak=speak, voice_loop=TuiVoice(config, speak, listen)).run()
    return 0
