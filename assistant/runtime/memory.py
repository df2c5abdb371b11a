"""The heap of a process that runs for hours (`earshot listen`, the TUI): glibc's allocator, tuned.

Left alone, glibc gives each thread that allocates its own arena (up to 8 a core) and returns freed
memory to the system only from the top of each heap. The voice loop allocates audio, feature and tensor
buffers of many sizes from a dozen threads (ASR, TTS, the LLM, ONNX Runtime, asyncio's pool), so its
resident size swung by ±40 MB every few seconds and its floor crept up for the whole of a 50-minute
`earshot bench soak` (+281 MB; README "Soak"), though Python's own objects did not grow.

Two standard remedies (the ones long-running Python services use against this): cap the number of
arenas at start-up, before the threads exist, and hand free pages back after each turn (`malloc_trim`).
Neither changes what the program computes. Elsewhere than glibc (musl, macOS) both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

M_ARENA_MAX = -8  # mallopt parameter (malloc.h)
ARENAS_LONG_RUNNING = 2  # what services on glibc commonly set (MALLOC_ARENA_MAX=2); this machine has 2 cores


@functools.cache
def _glibc():
    """glibc, or None where the C library is another (or cannot be loaded)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
        return None
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return libc


def limit_arenas(count: int) -> bool:
    """At most `count` malloc arenas for the whole process. Call it before threads start allocating: glibc
    fixes its limit when it makes its second arena. MALLOC_ARENA_MAX in the environment wins (the user's
    own setting). True when the limit was set."""
    libc = _glibc()
    if libc is None or count <= 0 or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return bool(libc.mallopt(M_ARENA_MAX, count))


def release_free_memory() -> bool:
    """Return the heap's free pages to the system (all arenas, not only the top of each). Takes a few
    milliseconds on the voice loop's heap: call it when a turn has ended, not while one is answered."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
