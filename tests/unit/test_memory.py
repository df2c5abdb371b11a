"""runtime/memory.py: the long-running process's heap gives freed pages back."""

from __future__ import annotations

import os
import sys

import pytest

from assistant.runtime.memory import _glibc, limit_arenas, release_free_memory

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or _glibc() is None, reason="glibc's allocator only"
)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_freed_blocks_between_live_ones_go_back_to_the_system():
    # 200 MB of 4 KB blocks, one in 64 kept: freed memory sits in holes below live blocks, which glibc's
    # own trimming (top of the heap only) never returns. This is how the voice loop's RSS crept.
    blocks = [bytes(4096) for _ in range(50_000)]
    kept = blocks[::64]
    del blocks
    before = _rss_mb()
    assert release_free_memory()
    after = _rss_mb()
    assert before - after > 100, (before, after)
    assert len(kept) == 782


def test_the_users_own_malloc_arena_max_wins(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit_arenas(2) is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    assert limit_arenas(0) is False
