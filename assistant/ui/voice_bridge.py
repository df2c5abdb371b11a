"""The voice loop (voice/loop.py) inside the TUI: every turn, typed or spoken, runs on it.

`TuiVoice` runs a `VoiceLoop` on its own thread and asyncio loop, and implements the interface the app
plugs voice into (ui/messages.py `VoiceControl`):

- listening on the microphone and answering on the speaker (audio/io.py); with `listen=False`
  (`earshot --no-listen`) or no microphone, on a source that hears nothing (voice/pump.py `NullSource`):
  the listening line says which, and typed requests still run here;
- the loop's meter, VAD state, partial transcripts and mode become `VoiceStatus` snapshots for the
  listening widget; every other event goes to the app as a pipeline event (transcript, turn, tool
  cards, reply);
- one speaker and one way to interrupt: speech over the reply (barge-in) and Esc (`interrupt`) both
  stop the turn through its `TurnCancel`, which records what was heard and emits `Interrupted`.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace

from ..config import EarshotConfig
from ..errors import EarshotError
from ..events import ErrorEvent, Event, InputLevel, ModeChanged, PartialTranscript, SpeechStarted, VoiceState
from .messages import VoiceStatus

# The TUI names the wake mode after what the user says; the loop calls it "wake".
_TO_LOOP = {"always": "always", "push_to_talk": "push_to_talk", "wake_phrase": "wake"}
_FROM_LOOP = {v: k for k, v in _TO_LOOP.items()}
_STATUS_EVENTS = (InputLevel, VoiceState, PartialTranscript, ModeChanged)


class TuiVoice:
    """Build with the config; the app calls `bind` (its Assistant and event sink), then `start`."""

    def __init__(
        self, config: EarshotConfig, speak: bool = True, listen: bool = True, source=None, sink=None, frames=None
    ) -> None:
        self.config = config
        self.speak = speak
        self.listen = listen
        # Tests pass their own microphone, speaker and frame pipeline; else the devices and the real VAD.
        self._source, self._sink, self._frames = source, sink, frames
        self.assistant = None
        self._emit: Callable[[Event], None] = lambda e: None
        self._turn_done: Callable[[], None] = lambda: None
        self._status_cb: Callable[[VoiceStatus], None] = lambda s: None
        self.status = VoiceStatus(
            voice_loop=listen, microphone=None, mode=_FROM_LOOP.get(config.voice.listen.mode, "always")
        )
        self.loop = None  # the VoiceLoop, once it runs
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # the loop runs (or could not start)
        self._stopped = threading.Event()  # the app is going away
        self._pressed = False
        self._mode = config.voice.listen.mode  # the loop's mode as the user last chose it (F2)
        self.error: EarshotError | None = None  # why it is not listening

    # -- the app's interface ----------------------------------------------------------------------
    def bind(self, assistant, emit: Callable[[Event], None], turn_done: Callable[[], None]) -> None:
        self.assistant, self._emit, self._turn_done = assistant, emit, turn_done

    def start(self, status: Callable[[VoiceStatus], None]) -> None:
        """Open the devices and run the loop (on a thread)."""
        if self.assistant is None:
            raise RuntimeError("TuiVoice.bind() first: the voice loop needs the app's Assistant")
        self._status_cb = status
        self._status_cb(self.status)
        self._thread = threading.Thread(target=self._main, name="earshot-voice", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self.loop is not None and self._aloop is not None and not self._aloop.is_closed()

    def set_mode(self, mode: str) -> None:
        self._mode = _TO_LOOP.get(mode, mode)
        self._update(mode=mode)
        self._call(lambda: self.loop.set_mode(self._mode))  # a loop not yet running takes it at its start

    def talk(self) -> None:
        """Push-to-talk: the first press starts the utterance, the next ends it (no key-up in a terminal)."""

        def toggle() -> None:
            self._pressed = not self._pressed
            self.loop.push_to_talk(self._pressed)

        self._call(toggle)

    def run_text(self, text: str) -> None:
        """Run a typed request on the loop; raises EarshotError (to show) when it cannot be taken now."""
        self._ready.wait(30)
        aloop = self._aloop
        if self.loop is None or aloop is None or aloop.is_closed():
            raise self.error or EarshotError("the assistant is not running", "restart earshot")

        async def accept() -> None:
            self.loop.run_text(text)

        try:
            asyncio.run_coroutine_threadsafe(accept(), aloop).result(timeout=10)
        except FutureTimeout:
            raise EarshotError(
                "the assistant did not take the request", "try again; Esc stops a running turn"
            ) from None

    def interrupt(self) -> None:
        self._call(lambda: self.loop.interrupt())

    def stop(self) -> None:
        self._stopped.set()
        self._call(lambda: self.loop.stop())
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    # -- the voice thread ---------------------------------------------------------------------------
    def _call(self, fn: Callable[[], None]) -> bool:
        aloop = self._aloop
        if self.loop is None or aloop is None or aloop.is_closed():
            return False
        try:
            aloop.call_soon_threadsafe(fn)
        except RuntimeError:  # the loop closed meanwhile
            return False
        return True

    def _devices(self):
        """(source, microphone name or None, sink); a missing microphone means typing only."""
        from ..audio import io
        from ..voice.pump import NullSource
        from ..voice.speaker import device_output

        voice = self.config.voice
        source, name = self._source, None
        if source is not None:
            name = getattr(source, "name", "test source")
        elif self.listen:
            try:
                index = io.resolve_device(voice.input_device, "input")
                name = {d["index"]: d["name"] for d in io.list_devices()}.get(index, "default")
                source = io.MicStream(voice.input_device)
            except EarshotError as exc:
                self.error = exc
        sink = self._sink
        if sink is None and self.speak:
            try:
                io.resolve_device(self.config.speech.output_device, "output")
                sink = device_output(self.config.speech.output_device, voice)
            except EarshotError as exc:
                self._emit(ErrorEvent(f"replies will not be spoken: {exc.message}", exc.hint))
        return source or NullSource(), name, sink

    def _main(self) -> None:
        from ..voice.loop import VoiceLoop

        aloop = asyncio.new_event_loop()
        try:
            source, name, sink = self._devices()
            speaker = self.assistant.speaker(sink) if sink is not None else None
            self.loop = VoiceLoop(
                self.assistant, source, speaker, self.config.voice, self._on_event, frames=self._frames
            )
        except EarshotError as exc:
            self.error = exc
            self._ready.set()
            self._update(microphone=None)
            return
        self.loop.on_turn_done = self._turn_done
        self.loop.mode = self._mode
        self._aloop = aloop
        self._update(microphone=name, mode=_FROM_LOOP.get(self._mode, "always"))
        try:
            aloop.run_until_complete(self._run(self.loop, listening=name is not None))
        except EarshotError as exc:  # the device failed to open or went away
            self.error = exc
            self._emit(ErrorEvent(f"stopped listening: {exc.message}", exc.hint))
            self._update(microphone=None)
        finally:
            self.loop = None
            try:
                aloop.run_until_complete(aloop.shutdown_default_executor())
            finally:
                aloop.close()

    async def _run(self, loop, listening: bool) -> None:
        from ..voice.warm_up import greet, warm_up

        if self._stopped.is_set():  # the app ended while the loop was being built
            loop.stop()
        runner = asyncio.create_task(loop.run())
        self._ready.set()
        if listening:  # the models a spoken turn needs, before the first one
            await warm_up(loop)
            await asyncio.sleep(0.3)
            if not runner.done():
                await greet(loop)
        await runner

    def _on_event(self, event: Event) -> None:
        if isinstance(event, InputLevel):
            self._update(level_db=event.level_dbfs)
        elif isinstance(event, VoiceState):
            # The partial transcript belongs to the speech being heard; the turn shows the final one.
            self._update(vad_state=event.state, **({} if event.state == "hearing" else {"partial": ""}))
        elif isinstance(event, PartialTranscript):
            self._update(partial=event.text)
        elif isinstance(event, ModeChanged):
            self._update(mode=_FROM_LOOP.get(event.mode, "always"))
        elif isinstance(event, SpeechStarted):
            self._update(partial="")
        if not isinstance(event, _STATUS_EVENTS):
            self._emit(event)

    def _update(self, **changes) -> None:
        self.status = replace(self.status, **changes)
        self._status_cb(self.status)
