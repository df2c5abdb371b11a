"""The voice loop (assistant/voice.py) inside the TUI: listening, spoken turns, barge-in.

`TuiVoice` runs a `VoiceLoop` on its own thread and asyncio loop, on the microphone and speaker
(audio/io.py), and implements the small interface the app plugs voice into (ui/messages.py):

- the loop's meter, VAD state, partial transcripts and mode become `VoiceStatus` snapshots for the
  listening widget; every other event goes to the app as a pipeline event (transcript, turn, tool
  cards, reply), exactly as a typed turn's do;
- turns run on the voice thread, spoken and typed alike (`run_text`), so there is one speaker and one
  way to interrupt: speech over the reply (barge-in) and Esc (`interrupt`) both cancel the turn task,
  and the pipeline records it as interrupted and emits the same `Interrupted` event;
- without a microphone it reports that (the widget shows the banner) and the app keeps its own
  typed-turn path.
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from typing import Callable

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

    def __init__(self, config: EarshotConfig, speak: bool = True, source=None, sink=None) -> None:
        self.config = config
        self.speak = speak
        self._source, self._sink = source, sink       # tests pass their own; else microphone and speaker
        self.assistant = None
        self._emit: Callable[[Event], None] = lambda e: None
        self._turn_done: Callable[[], None] = lambda: None
        self._status_cb: Callable[[VoiceStatus], None] = lambda s: None
        self.status = VoiceStatus(voice_loop=True, microphone=None,
                                  mode=_FROM_LOOP.get(config.voice.listen.mode, "always"))
        self.loop = None                               # the VoiceLoop, once the microphone is open
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._pressed = False
        self.error: EarshotError | None = None         # why it is not listening

    # -- the app's interface ----------------------------------------------------------------------
    def bind(self, assistant, emit: Callable[[Event], None], turn_done: Callable[[], None]) -> None:
        self.assistant, self._emit, self._turn_done = assistant, emit, turn_done

    def start(self, status: Callable[[VoiceStatus], None], utterance: Callable[[str], None]) -> None:
        """Open the microphone and listen (on a thread). Turns run here, so `utterance` is unused."""
        if self.assistant is None:
            raise RuntimeError("TuiVoice.bind() first: the voice loop needs the app's Assistant")
        self._status_cb = status
        self._thread = threading.Thread(target=self._main, name="earshot-voice", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self.loop is not None and self._aloop is not None and not self._aloop.is_closed()

    def set_mode(self, mode: str) -> None:
        self._update(mode=mode)
        self._call(lambda: self.loop.set_mode(_TO_LOOP.get(mode, mode)))

    def talk(self) -> None:
        """Push-to-talk: the first press starts the utterance, the next ends it (no key-up in a terminal)."""
        def toggle() -> None:
            self._pressed = not self._pressed
            self.loop.push_to_talk(self._pressed)

        self._call(toggle)

    def run_text(self, text: str) -> bool:
        """Run a typed request on the voice thread; False when no voice loop runs (the app runs it)."""
        return self._call(lambda: self.loop.run_text(text))

    def interrupt(self) -> bool:
        return self._call(lambda: self.loop.interrupt())

    def stop(self) -> None:
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
        except RuntimeError:          # the loop closed meanwhile
            return False
        return True

    def _main(self) -> None:
        from ..audio import io
        from ..voice import VoiceLoop

        voice = self.config.voice
        try:
            source = self._source or io.MicStream(voice.input_device)
            if self._source is None:
                index = io.resolve_device(voice.input_device, "input")
                names = {d["index"]: d["name"] for d in io.list_devices()}
                name = names.get(index, "default")
            else:
                name = getattr(source, "name", "test source")
            sink = self._sink
            if sink is None and self.speak:
                try:
                    io.resolve_device(self.config.speech.output_device, "output")
                    sink = io.Speaker(self.config.speech.output_device, latency=voice.output_latency_s)
                except EarshotError as exc:
                    self._emit(ErrorEvent(f"replies will not be spoken: {exc.message}", exc.hint))
            loop = VoiceLoop(self.assistant, source, sink, voice, self._on_event)
        except EarshotError as exc:
            self.error = exc
            self._update(microphone=None)
            return
        loop.on_turn_done = self._turn_done
        aloop = asyncio.new_event_loop()
        self._aloop, self.loop = aloop, loop
        self._update(microphone=name, mode=_FROM_LOOP.get(loop.mode, "always"))
        try:
            aloop.run_until_complete(self._run(loop))
        except EarshotError as exc:           # the device failed to open or went away
            self.error = exc
            self._emit(ErrorEvent(f"stopped listening: {exc.message}", exc.hint))
            self._update(microphone=None)
        finally:
            self.loop = None
            try:
                aloop.run_until_complete(aloop.shutdown_default_executor())
            finally:
                aloop.close()

    async def _run(self, loop) -> None:
        await loop.warm_up()
        runner = asyncio.create_task(loop.run())
        await asyncio.sleep(0.3)
        if not runner.done():
            await loop.greet()
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
