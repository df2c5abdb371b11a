"""Frames into the voice loop, from a live microphone or from a file.

- live (`source.live`): a capture thread reads blocks, runs the echo canceller and the VADs
  (audio/frames.py) and hands frames to the event loop, which never waits on the device;
- a file (`earshot listen --input`, tests): read as fast as the loop can take it, but after each block
  the work it started (a transcription, a turn) is awaited first, as a person would wait for an answer
  before speaking again, so results do not depend on the machine's speed. No barge-in from a file.
- no microphone at all (`NullSource`): no frames; typed turns still run on the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

from ..audio.frames import FramePipeline
from ..audio.vad import VadFrame
from ..errors import EarshotError


class NullSource:
    """A microphone that hears nothing: the loop runs typed turns only (no input device, or --no-listen)."""

    live = True
    name = "no microphone"

    def start(self) -> NullSource:
        return self

    def read(self, timeout: float | None = 0.5):
        threading.Event().wait(timeout or 0.0)
        return None

    def close(self) -> None:
        pass


class FramePump:
    def __init__(self, source, frames: FramePipeline, pending: Callable[[], list[asyncio.Task]]) -> None:
        self.source = source
        self.pipeline = frames
        self.pending = pending  # the work a block started (a transcription, a turn)
        self.live = bool(getattr(source, "live", False))
        self._thread: threading.Thread | None = None

    async def frames(self, stop: asyncio.Event) -> AsyncIterator[VadFrame]:
        if self.live:
            async for frame in self._live(stop):
                yield frame
            return
        while not stop.is_set():
            block = self.source.read(timeout=0)
            if block is None:
                await self._settle()  # the last turn finishes before the file counts as heard
                return
            for frame in self.pipeline.feed(block.audio, block.end_s):
                yield frame
            await self._settle()

    async def _settle(self) -> None:
        """A file waits for the work its last block started, as a person waits for an answer."""
        await asyncio.sleep(0)
        for task in self.pending():
            await asyncio.wait({task})

    async def _live(self, stop: asyncio.Event) -> AsyncIterator[VadFrame]:
        queue: asyncio.Queue = asyncio.Queue()
        aloop = asyncio.get_running_loop()

        def capture() -> None:
            try:
                while not stop.is_set():
                    block = self.source.read(timeout=0.1)
                    if block is None:
                        continue
                    for frame in self.pipeline.feed(block.audio, block.end_s):
                        aloop.call_soon_threadsafe(queue.put_nowait, frame)
            except Exception as exc:  # the loop must not go on deaf: it ends with the error (see below)
                aloop.call_soon_threadsafe(queue.put_nowait, exc)

        self._thread = threading.Thread(target=capture, name="earshot-capture", daemon=True)
        self._thread.start()
        while not stop.is_set():
            try:
                item = await asyncio.wait_for(queue.get(), timeout=0.2)
            except TimeoutError:
                continue
            if isinstance(item, Exception):
                raise EarshotError(
                    f"listening stopped: the microphone's audio could not be processed ({type(item).__name__}: {item})",
                    "start `earshot listen` again (the session and its files are kept); if it happens again, report it",
                ) from item
            yield item

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=2)
