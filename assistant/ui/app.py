"""EarshotApp: the Textual front end over `Assistant` (assistant/pipeline.py).

Threads: the UI thread draws; each turn runs `Assistant.handle_text` on its own asyncio loop in a
Textual thread worker; the pipeline's `emit` callback posts each typed event back as a
`PipelineEvent` message (post_message is thread-safe). The worker's session connection writes;
the UI reads through its own connection to the same WAL database, so drawing never waits on a
tool and nothing the pipeline records depends on the UI staying open.
"""
from __future__ import annotations

import asyncio
import threading
import time
from typing import Callable

from rich.markup import escape
from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import Input

from ..config import EarshotConfig
from ..errors import Cancelled, EarshotError
from ..events import (ErrorEvent, Event, Interrupted, PlanReady, PlanRejected, PlaybackStopped, Reply, ReplySentence,
                      ToolFinished, ToolProgress, ToolStarted, Transcript, TurnStarted)
from ..session import Artifact, Session, SessionStore
from .messages import (LISTENING_MODES, MODE_LABELS, ArtifactChosen, ModelsStatus, PipelineEvent, TurnDone, VoiceLoop,
                       VoiceStatusChanged)
from .screens.main import MainScreen
from .widgets.artifacts import ArtifactsPane
from .widgets.conversation import AssistantReply, Conversation, Notice, ToolCard, UserTurn
from .widgets.listening import ListeningStatus
from .widgets.project import ProjectPane
from .widgets.prompt import SLASH_COMMANDS, PromptInput, workspace_files
from .widgets.status import StatusLine


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
        Binding("f5", "toggle_project", "Project"),   # shown once the session has a project
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, config: EarshotConfig, session: Session, *, llm_name: str | None = None,
                 speak: bool = True, autoload: bool = True, voice_loop: VoiceLoop | None = None,
                 clock: Callable[[], float] = time.monotonic, on_first_paint: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.config = config
        self.session = session                       # written by the pipeline (worker threads)
        self.ui_session = SessionStore(config.paths.database_path).open_session(session.id)   # read here
        self.llm_name = llm_name or config.models.llm
        self.speak = speak
        self.autoload = autoload
        self.voice_loop = voice_loop
        self.clock = clock
        self.on_first_paint = on_first_paint
        self.assistant = None                        # built in the loading worker: start-up stays fast
        self.busy = False
        self.models_ready = False
        self.mode = "always"
        self._turn_loop: asyncio.AbstractEventLoop | None = None
        self._turn_task: asyncio.Task | None = None
        self._turn_worker = None
        self._turn_settled = threading.Event()
        self._assistant_lock = threading.Lock()
        self._reply: AssistantReply | None = None
        self._cards: dict[int, ToolCard] = {}
        self._player = None
        self._playing: Artifact | None = None
        self._device = "CPU"
        self._project_seq: int | None = None          # the project change the pane shows (None: no project)
        self._project_hidden = False                  # the user hid the pane with F5

    # -- start-up ---------------------------------------------------------------------------
    def get_default_screen(self) -> MainScreen:
        self.main = MainScreen(self._completion_candidates, on_ready=self._setup)
        return self.main

    def _setup(self) -> None:
        """Runs once the main screen is composed: fill it, then start loading models behind it."""
        self.sub_title = f"session {self.session.id}"
        self.status.set_session(f"{self.session.workspace}")
        self.status.set_models(self._models_line(loading=self.autoload), loading=self.autoload)
        self._load_history()
        if not self.conversation.children:
            self.conversation.add(Notice(
                "Type what to do with your audio, e.g. [b]describe memo.wav[/b] or [b]remove the hiss from "
                "@a2[/b], and press Enter. Files in the workspace complete after [b]@[/b] (Tab); "
                "[b]F1[/b] lists keys and /commands.", "welcome"))
        self.refresh_artifacts()
        self.refresh_project()
        if self.voice_loop is not None:
            # After the first frame as well: building the Assistant imports the whole pipeline and the
            # loop opens the audio devices (~2 s before the screen was drawn).
            self.call_after_refresh(lambda: self.set_timer(0.02, self._start_voice))
        if self.autoload:
            # after the first frame: importing llama.cpp holds the GIL and would delay the first paint
            self.call_after_refresh(lambda: self.set_timer(0.05, self._load_models))
        if self.on_first_paint is not None:
            self.call_after_refresh(self.on_first_paint)

    def _start_voice(self) -> None:
        bind = getattr(self.voice_loop, "bind", None)
        if bind is not None:
            # A loop that runs turns itself (ui/voice_bridge.py) shares the app's Assistant.
            bind(self._ensure_assistant(), self._emit, self._voice_turn_done)
        self.voice_loop.start(lambda s: self.post_message(VoiceStatusChanged(s)),
                              lambda text: self.call_from_thread(self.submit, text, "spoken"))

    def _models_line(self, loading: bool = False) -> str:
        m = self.config.models
        state = "loading " if loading else ("" if self.models_ready else "(not loaded) ")
        return f"{state}{self.llm_name} · {m.asr} · tts {m.tts if self.speak else 'off'} · {self._device}"

    @work(thread=True, exclusive=True, group="models")
    def _load_models(self) -> None:
        t0 = time.perf_counter()
        try:
            self._ensure_assistant()
            self.post_message(ModelsStatus(f"loading planner {self.llm_name}…", 0.3))
            self.assistant.load()   # the only model a typed turn needs first; the rest load on first use
        except EarshotError as exc:
            self.post_message(ModelsStatus(f"planner {self.llm_name} unavailable", done=True,
                                           error=f"{exc.message} — {exc.hint}" if exc.hint else exc.message))
            return
        self._device = _device(self.config)
        self.post_message(ModelsStatus(f"ready in {time.perf_counter() - t0:.1f} s", 1.0, done=True))

    def _ensure_assistant(self):
        with self._assistant_lock:   # the loading worker and the first request may race to build it
            if self.assistant is None:
                from ..pipeline import Assistant

                self.assistant = Assistant(self.config, self.session, emit=self._emit, speak=self.speak,
                                           llm_name=self.llm_name)
        return self.assistant

    def on_models_status(self, message: ModelsStatus) -> None:
        if message.done:
            self.models_ready = message.error is None
            self.status.set_models(self._models_line() if not message.error else message.text, loading=False,
                                   error=message.error is not None)
            if message.error:
                self.conversation.add(Notice(f"⚠ {escape(message.error)}", "error"))
        else:
            self.status.set_models(self._models_line(loading=True), loading=True, fraction=message.fraction)

    def _load_history(self) -> None:
        """A resumed session shows its earlier turns (compactly): nothing is lost between runs."""
        conv = self.conversation
        for turn, _plans, runs in self.ui_session.iter_history():
            conv.add(UserTurn(turn["user_text"], turn["source"]))
            for r in runs:
                mark = {"ok": "✓", "failed": "✗", "cancelled": "⏹", "timeout": "⌛"}.get(r["status"], "…")
                conv.add(Notice(f"{mark} {r['step']}. {escape(r['tool'])}  [dim]{escape(r['summary'] or r['error'] or '')}[/]",
                                "history"))
            text = turn["reply_text"] or (f"[{turn['status']}] {turn['error'] or ''}")
            conv.add(Notice(f"[b]earshot[/b]  {escape(text)}", "history"))

    # -- widgets ----------------------------------------------------------------------------
    @property
    def conversation(self) -> Conversation:
        return self.main.query_one(Conversation)

    @property
    def artifacts_pane(self) -> ArtifactsPane:
        return self.main.query_one(ArtifactsPane)

    @property
    def prompt(self) -> PromptInput:
        return self.main.query_one(PromptInput)

    @property
    def status(self) -> StatusLine:
        return self.main.query_one(StatusLine)

    @property
    def listening(self) -> ListeningStatus:
        return self.main.query_one(ListeningStatus)

    def _completion_candidates(self) -> list[str]:
        refs = [a.ref for a in reversed(self.artifacts_pane.artifacts)] + ["@last"]
        return refs + ["@" + name for name in workspace_files(self.session.workspace)]

    def refresh_artifacts(self, select_last: bool = False) -> None:
        self.artifacts_pane.set_artifacts(self.ui_session.artifacts(), select_last=select_last)

    # -- the studio project pane ------------------------------------------------------------
    @property
    def project_pane(self) -> ProjectPane:
        return self.main.query_one(ProjectPane)

    def refresh_project(self) -> None:
        """Redraw the project pane from the store; it opens by itself when a project first appears."""
        from ..project.store import peek

        snap = peek(self.ui_session)
        seq = snap.seq if snap else None
        if seq is not None and self._project_seq is None and not self._project_hidden:
            self.project_pane.add_class("-shown")
        if seq != self._project_seq:
            self._project_seq = seq
            self.project_pane.show_snapshot(snap)
            self.refresh_bindings()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "toggle_project":
            return self._project_seq is not None    # no project: nothing to show, the key stays out of the footer
        return True

    def action_toggle_project(self) -> None:
        pane = self.project_pane
        pane.toggle_class("-shown")
        self._project_hidden = not pane.has_class("-shown")

    def play_project_mix(self) -> None:
        """Play (or stop) the newest mixdown of the project; the pane's playhead follows it."""
        mixes = [a for a in self.ui_session.artifacts()
                 if a.tool == "render_project" and a.duration_s is not None and "track" not in a.meta]
        if not mixes:
            self.notify('no mix of the project yet: say "render the song"', severity="warning", timeout=4)
            return
        mix = mixes[-1]
        if self._playing is None and mix.meta.get("project_seq") != self._project_seq:
            self.notify(f"@{mix.id} was rendered before the latest changes", timeout=4)
        self.toggle_play(mix)

    # -- input ------------------------------------------------------------------------------
    @on(Input.Submitted, "#prompt")
    def _on_prompt(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text:
            return
        self.prompt.remember(text)
        if text.startswith("/"):
            self.prompt.value = ""
            self.run_command(text)
            return
        if self.submit(text):
            self.prompt.value = ""

    def submit(self, text: str, source: str = "typed") -> bool:
        if self.busy:
            self.notify("a turn is still running — Esc interrupts it", severity="warning")
            return False
        self.busy = True
        self._reply = None
        self._cards = {}
        if source == "spoken":
            self.listening.set_turn_state("thinking")
        self._ensure_assistant()
        self._turn_settled.clear()
        if self._voice_runs_turns() and self.voice_loop.run_text(text):
            return True               # on the voice loop: speech over the reply interrupts it too
        self._turn_worker = self._run_turn(text, source)
        return True

    def _voice_runs_turns(self) -> bool:
        return bool(getattr(self.voice_loop, "running", False))

    def _voice_turn_done(self) -> None:
        """From the voice thread: a turn it ran (spoken or typed) has ended and is recorded."""
        self._turn_settled.set()
        self.post_message(TurnDone())

    @work(thread=True, group="turn")
    def _run_turn(self, text: str, source: str) -> None:
        loop = asyncio.new_event_loop()
        task = loop.create_task(self.assistant.handle_text(text, source))
        self._turn_loop, self._turn_task = loop, task
        try:
            loop.run_until_complete(task)
        except (asyncio.CancelledError, Cancelled, EarshotError):
            pass   # already recorded in the store and reported as an event by the pipeline
        except Exception as exc:   # a bug: show it, keep the app alive
            self._emit(ErrorEvent(f"internal error: {type(exc).__name__}: {exc}", "please report it"))
        finally:
            self._turn_settled.set()   # the store has the turn's final status from here on
            # An interrupted plan leaves llama.cpp finishing its call in a thread; wait for it before
            # the next turn may start, so the model is never used by two threads at once.
            try:
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()
                self._turn_loop = self._turn_task = None
                self.post_message(TurnDone())

    def _emit(self, event: Event) -> None:
        self.post_message(PipelineEvent(event))

    def on_turn_done(self, _message: TurnDone) -> None:
        self.busy = False
        self.listening.set_turn_state("idle")
        if self._reply is not None:
            self._reply.finish()
        self.status.set_models(self._models_line(), loading=False)
        self.refresh_artifacts()
        self.refresh_project()

    # -- pipeline events --------------------------------------------------------------------
    def on_pipeline_event(self, message: PipelineEvent) -> None:
        try:
            conv = self.conversation
        except NoMatches:   # the app is closing; the store already holds the event's facts
            return
        event = message.event
        if isinstance(event, Transcript):
            pass   # the TurnStarted that follows carries the same text, marked spoken
        elif isinstance(event, TurnStarted):
            if not self.busy:         # a spoken turn the voice loop started by itself
                self.busy = True
                self._turn_settled.clear()
                self._cards = {}
            conv.add(UserTurn(event.text, event.source))
            self._reply = AssistantReply()
            conv.add(self._reply)
            self.listening.set_turn_state("thinking")
        elif isinstance(event, PlanReady):
            self._current_reply().set_plan(event.steps, event.say)
        elif isinstance(event, PlanRejected):
            conv.add(Notice(f"⚠ plan rejected: {escape(event.error)}", "warning"))
        elif isinstance(event, ToolStarted):
            card = ToolCard(event.step, event.tool, event.args, clock=self.clock)
            self._cards[event.step] = card
            # Cards go before the reply, which stays last: the answer reads after the work.
            conv.mount(card, before=self._current_reply())
            conv.call_after_refresh(conv.scroll_end, animate=False)
        elif isinstance(event, ToolProgress):
            if card := self._cards.get(event.step):
                card.progress(event)
        elif isinstance(event, ToolFinished):
            if card := self._cards.get(event.step):
                card.finish(event)
            if event.artifacts:
                self.refresh_artifacts(select_last=True)
            self.refresh_project()
        elif isinstance(event, Reply):
            self._current_reply().set_text(event.text)
        elif isinstance(event, ReplySentence):
            self._current_reply().add_sentence(event.text)
            self.listening.set_turn_state("speaking")
        elif isinstance(event, PlaybackStopped):
            if self._reply is not None:
                self._reply.finish()
            if not self.busy:
                self._reply = None    # speech outside a turn (the voice loop's greeting) is complete
        elif isinstance(event, Interrupted):
            self._current_reply().mark_interrupted()
            for card in self._cards.values():
                card.interrupt()
        elif isinstance(event, ErrorEvent):
            conv.add(Notice(f"⚠ {escape(event.message)}" + (f" [dim]— {escape(event.hint)}[/]" if event.hint else ""),
                            "error"))

    def _current_reply(self) -> AssistantReply:
        if self._reply is None:
            self._reply = AssistantReply()
            self.conversation.add(self._reply)
        return self._reply

    # -- actions ----------------------------------------------------------------------------
    def action_interrupt(self) -> None:
        if self.screen is not self.main:    # a dialog is open: Esc closes it
            self.screen.dismiss(None)
            return
        if self._playing is not None:
            self._player.stop()
        if not self.busy:
            if self._playing is None:
                self.notify("nothing is running (Ctrl+Q quits)", timeout=3)
            return
        self.status.set_models("stopping…", loading=False)
        if self._voice_runs_turns() and self.voice_loop.interrupt():
            return                       # the same path as a barge-in: the turn task is cancelled
        if self.assistant is not None:
            self.assistant.interrupt()   # stops playback and any tool at its next progress point
        loop, task = self._turn_loop, self._turn_task
        if loop is not None and task is not None:
            loop.call_soon_threadsafe(task.cancel)   # the pipeline records the turn as interrupted

    async def action_quit(self) -> None:
        """Quit, mid-turn too: the turn is interrupted and recorded before the app goes away."""
        if self.busy:
            self.action_interrupt()
            deadline = time.monotonic() + 10.0
            while not self._turn_settled.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        if self._player is not None:
            self._player.stop()
        if self.voice_loop is not None:
            self.voice_loop.stop()
        self.exit()

    def action_help(self) -> None:
        from .screens.dialogs import HelpScreen   # Markdown is slow to import: not on the start-up path

        self.push_screen(HelpScreen())

    def action_focus_files(self) -> None:
        self.artifacts_pane.table.focus()

    def action_cycle_mode(self) -> None:
        self.mode = LISTENING_MODES[(LISTENING_MODES.index(self.mode) + 1) % len(LISTENING_MODES)]
        if self.voice_loop is not None:
            self.voice_loop.set_mode(self.mode)
        self.listening.set_mode(self.mode)
        self.notify(f"listening mode: {MODE_LABELS[self.mode]}" +
                    ("" if self.voice_loop else " (applies when the voice loop runs)"), timeout=3)

    def action_talk(self) -> None:
        if self.voice_loop is None:
            self.notify("no voice loop is running: type your request", severity="warning", timeout=4)
        elif self.mode != "push_to_talk":
            self.notify("F4 talks in push-to-talk mode (F2 switches modes)", timeout=4)
        else:
            self.voice_loop.talk()

    def on_voice_status_changed(self, message: VoiceStatusChanged) -> None:
        self.mode = message.status.mode
        try:
            self.listening.set_status(message.status)
        except NoMatches:             # the app is closing while the voice thread still reports
            pass

    def on_artifact_chosen(self, message: ArtifactChosen) -> None:
        self.prompt.insert_ref(message.ref)

    # -- artifacts: play, rename ------------------------------------------------------------
    def toggle_play(self, artifact: Artifact) -> None:
        if self._playing is not None:
            self._player.stop()
            return
        if artifact.duration_s is None:
            self.conversation.add(Notice(f"⚠ @{artifact.id} is a {artifact.kind} file, not audio", "warning"))
            return
        from ..audio.io import Player

        self._player = Player(self.config.speech.output_device)
        self._playing = artifact
        self.notify(f"playing @{artifact.id} {artifact.name} (p or Esc stops)", timeout=3)
        if artifact.tool == "render_project":   # a render starts at the project's time 0
            self.project_pane.start_playhead(artifact.duration_s)
        self._play(artifact)

    @work(thread=True, exclusive=True, group="play")
    def _play(self, artifact: Artifact) -> None:
        error = None
        try:
            import soundfile as sf

            audio, rate = sf.read(str(artifact.path), dtype="float32", always_2d=True)
            self._player.play(audio.mean(axis=1), rate)   # the Player streams mono
        except EarshotError as exc:
            error = f"cannot play @{artifact.id}: {exc.message}" + (f" — {exc.hint}" if exc.hint else "")
        except Exception as exc:   # unreadable file
            error = f"cannot play @{artifact.id}: {exc}"
        self.call_from_thread(self._play_done, error)

    def _play_done(self, error: str | None) -> None:
        self._playing = None
        self.project_pane.stop_playhead()
        if error:
            self.conversation.add(Notice(f"⚠ {escape(error)}", "error"))
            self.notify(error, severity="error", timeout=8)

    def rename_artifact(self, artifact: Artifact) -> None:
        def done(name: str | None) -> None:
            if name and name != artifact.name:
                self.ui_session.rename_artifact(artifact.num, name)
                self.refresh_artifacts()
                self.notify(f"@{artifact.id} is now “{name}”", timeout=3)

        from .screens.dialogs import RenameScreen

        self.push_screen(RenameScreen(artifact.ref, artifact.name), done)

    # -- slash commands ---------------------------------------------------------------------
    def run_command(self, text: str) -> None:
        cmd, _, rest = text.partition(" ")
        conv = self.conversation
        if cmd == "/help":
            self.action_help()
        elif cmd in ("/quit", "/exit"):
            self.run_worker(self.action_quit())
        elif cmd == "/clear":
            conv.remove_children()
        elif cmd == "/tools":
            registry = self._ensure_assistant().registry
            lines = [f"[b]{t.name}[/b]  {escape(t.spec.summary)}" + ("" if t.spec.learned else " [dim](signal processing)[/]")
                     for t in registry]
            conv.add(Notice("[b]Tools[/b]\n" + "\n".join(lines)))
        elif cmd == "/models":
            from ..models import ModelStore

            store = ModelStore(self.config.paths)
            m = self.config.models
            rows = [("planner", self.llm_name), ("speech recognition", m.asr), ("speech synthesis", m.tts),
                    ("denoiser", m.denoiser)]
            lines = [f"{role}: [b]{escape(name)}[/b] " + ("" if store.installed(name) else "[b]not installed[/b]")
                     for role, name in rows]
            lines.append(f"device: {self._device}" + ("" if self.models_ready else " · planner not loaded yet"))
            conv.add(Notice("[b]Models[/b]\n" + "\n".join(lines)))
        elif cmd == "/session":
            turns = self.ui_session.turns()
            conv.add(Notice(f"[b]Session[/b] {self.session.id}\nworkspace: {escape(str(self.session.workspace))}\n"
                            f"{len(turns)} turns, {len(self.artifacts_pane.artifacts)} files · "
                            f"store: {escape(str(self.config.paths.database_path))}\n"
                            "[dim]resume it later with: earshot --session " + self.session.id + "[/]"))
        elif cmd == "/undo":
            registry = self._ensure_assistant().registry
            if "project_undo" in {t.name for t in registry}:
                self.submit("undo the last change to the project")
            else:
                conv.add(Notice("/undo is not available yet: it undoes studio-project edits, and the studio "
                                "project has not landed in this build. Files are never overwritten, so every "
                                "earlier version is still in the file list.", "warning"))
        else:
            known = ", ".join(SLASH_COMMANDS)
            conv.add(Notice(f"unknown command {escape(cmd)} — try {known}", "warning"))


def _device(config: EarshotConfig) -> str:
    """Where inference runs: GPU if llama.cpp offloads layers or ONNX Runtime has CUDA, else CPU."""
    gpu = False
    try:
        import llama_cpp

        # gpu_layers is -1 ("all") by default; only a GPU build of llama.cpp offloads anything.
        gpu = config.llm.gpu_layers != 0 and bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:
        pass
    try:
        import onnxruntime

        gpu = gpu or "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    except Exception:
        pass
    return "GPU" if gpu else "CPU"


def run_tui(config: EarshotConfig, session: Session, *, llm_name: str | None = None, speak: bool = True,
            voice_loop: VoiceLoop | None = None, listen: bool = True) -> int:
    """`earshot` on a terminal: listening on the microphone (ui/voice_bridge.py) unless `listen` is
    False; without a microphone the listening line says so and typing works as ever."""
    if voice_loop is None and listen:
        from .voice_bridge import TuiVoice

        voice_loop = TuiVoice(config, speak=speak)
    EarshotApp(config, session, llm_name=llm_name, speak=speak, voice_loop=voice_loop).run()
    return 0
