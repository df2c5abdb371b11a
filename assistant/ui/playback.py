"""Playing a file of the session from the TUI (the file list's `p`, the project pane's mix), on a worker
thread, stoppable with `p` or Esc. This is listening to artifacts, not the assistant speaking (that is
voice/speaker.py, on the voice loop)."""

from __future__ import annotations

from collections.abc import Callable

from textual.worker import Worker

from ..errors import EarshotError
from ..store.session import Artifact


class ArtifactPlayer:
    def __init__(self, app, output_device, on_done: Callable[[str | None], None]) -> None:
        self.app = app
        self.output_device = output_device
        self.on_done = on_done  # (error or None), on the UI thread
        self.playing: Artifact | None = None
        self._player = None
        self._worker: Worker | None = None

    def start(self, artifact: Artifact) -> None:
        from ..audio import io  # looked up at call time: tests put a silent Player in its place

        self._player = io.Player(self.output_device)
        self.playing = artifact
        self._worker = self.app.run_worker(lambda: self._play(artifact), thread=True, exclusive=True, group="play")

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()

    def _play(self, artifact: Artifact) -> None:
        error = None
        try:
            import soundfile as sf

            audio, rate = sf.read(str(artifact.path), dtype="float32", always_2d=True)
            self._player.play(audio.mean(axis=1), rate)  # the Player streams mono
        except EarshotError as exc:
            error = f"cannot play @{artifact.id}: {exc.message}" + (f" — {exc.hint}" if exc.hint else "")
        except Exception as exc:  # unreadable file
            error = f"cannot play @{artifact.id}: {exc}"
        self.app.call_from_thread(self._done, error)

    def _done(self, error: str | None) -> None:
        self.playing = None
        self.on_done(error)


def project_mixes(session) -> list[Artifact]:
    """The project's mixdowns in the session, oldest first (renders of single tracks left out)."""
    return [
        a
        for a in session.artifacts()
        if a.tool == "render_project" and a.duration_s is not None and "track" not in a.meta
    ]
