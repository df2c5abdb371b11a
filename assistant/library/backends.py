"""Where the per-file analysis runs: a local process pool (the default) or Ray (`earshot[cluster]`).

Both take a *factory*: a picklable callable that builds a worker's analyser once (models load once
per worker), and both stream `(path, Analysis)` back as files finish, in any order, so the scanner
writes each row the moment it arrives. Nothing here knows what the analysis is.

    ProcessPoolBackend(factory, workers=2)              spawned processes on this machine
    RayBackend(factory, workers=2)                      a local Ray instance (127.0.0.1)
    RayBackend(factory, workers=8, address="HOST:6379") an existing cluster (`ray start --head`)

On a cluster every node needs Earshot installed the same way (`./install.sh --cluster`, models
included), and the audio must be at the same path on every node (a shared folder) unless
`ship_audio=True`, which reads each file on the driver and sends its bytes with the task.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..errors import EarshotError

Factory = Callable[[], Callable[[str], Any]]

RAY_HINT = "install the cluster extra: pip install 'earshot[cluster]' (or ./install.sh --cluster)"


# -- the local process pool ------------------------------------------------------------------------
_WORKER: Callable[[str], Any] | None = None


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when the driver dies (kill -9 included), so no analysis goes on
    for a scan that no longer exists. Elsewhere a worker exits at its next task (its task pipe is closed)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _pool_init(factory: Factory) -> None:
    global _WORKER
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the driver's to handle (it stops the pool)
    _WORKER = factory()


def _pool_work(path: str) -> tuple[str, Any]:
    assert _WORKER is not None
    return path, _WORKER(path)


class ProcessPoolBackend:
    """N spawned worker processes (spawn, not fork: the driver may hold threads and loaded models)."""

    name = "pool"

    def __init__(self, factory: Factory, workers: int = 2) -> None:
        import multiprocessing

        self.workers = max(1, int(workers))
        self._pool = multiprocessing.get_context("spawn").Pool(self.workers, _pool_init, (factory,))

    def map(self, paths: Iterable[str]) -> Iterator[tuple[str, Any]]:
        yield from self._pool.imap_unordered(_pool_work, paths, chunksize=1)

    def close(self, cancelled: bool = False) -> None:
        if cancelled:
            self._pool.terminate()
        else:
            self._pool.close()
        self._pool.join()


# -- Ray ---------------------------------------------------------------------------------------------
def import_ray():
    try:
        import ray
    except ImportError:
        raise EarshotError("Ray is not installed", RAY_HINT) from None
    return ray


class _RayWorker:
    """A Ray actor holding one analyser (its models stay loaded between files)."""

    def __init__(self, factory: Factory) -> None:
        self.analyse = factory()

    def run(self, path: str, data: bytes | None) -> tuple[str, Any]:
        if data is None:
            return path, self.analyse(path)
        # The audio travelled with the task: analyse a private copy, keep the library path in the row.
        fd, tmp = tempfile.mkstemp(suffix=Path(path).suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            return path, self.analyse(tmp)
        finally:
            os.unlink(tmp)

    def pid(self) -> int:
        return os.getpid()


class RayBackend:
    """The same analysis as Ray tasks on an actor pool: one actor per worker, each with its own models."""

    name = "ray"

    def __init__(
        self, factory: Factory, workers: int = 2, address: str | None = None, ship_audio: bool = False
    ) -> None:
        ray = import_ray()
        self.ray = ray
        self.workers = max(1, int(workers))
        self.ship_audio = ship_audio
        self._started = False
        # Ray's usage statistics would be sent to its makers: never (nothing leaves the machine).
        os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
        # Ray starts its workers at niceness 15; here they are the work itself, as the pool's processes are
        # (on a busy machine nice 15 left them ~1 % of a core). A cluster's nodes set it in `ray start`'s env.
        os.environ.setdefault("RAY_worker_niceness", "0")
        if not ray.is_initialized():
            if address:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            else:
                self._init_local(ray)
            self._started = True
        actor = ray.remote(num_cpus=1)(_RayWorker)
        self.actors = [actor.remote(factory) for _ in range(self.workers)]

    def _init_local(self, ray) -> None:
        """A local instance on 127.0.0.1. Ray gives its raylet 30 s to register; on a machine loaded far
        beyond its cores that is not always enough, so a timed-out start is cleaned up and tried once more."""
        for attempt in (1, 2):
            try:
                ray.init(
                    num_cpus=self.workers,
                    include_dashboard=False,
                    log_to_driver=False,
                    _node_ip_address="127.0.0.1",
                    configure_logging=False,
                )
                return
            except Exception:
                ray.shutdown()
                if attempt == 2:
                    raise

    def map(self, paths: Iterable[str]) -> Iterator[tuple[str, Any]]:
        from ray.util import ActorPool

        pool = ActorPool(self.actors)

        def submit(actor, path):
            data = Path(path).read_bytes() if self.ship_audio else None
            return actor.run.remote(path, data)

        yield from pool.map_unordered(submit, list(paths))

    def worker_pids(self) -> list[int]:
        return self.ray.get([a.pid.remote() for a in self.actors])

    def close(self, cancelled: bool = False) -> None:
        for a in self.actors:
            self.ray.kill(a)
        self.actors = []
        if self._started:
            self.ray.shutdown()
