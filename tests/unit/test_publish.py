"""Outputs appear under their name whole or not at all: written under a scratch name, then published by a
hard link that never replaces an existing file (or, where a filesystem has no hard links, a claimed name)."""

from __future__ import annotations

import errno
import os

import pytest


def test_publish_takes_a_free_name_and_leaves_no_scratch(session):
    taken = session.workspace / "mix.wav"
    taken.write_bytes(b"the user's own mix")
    scratch = session.scratch_path(".wav")
    assert scratch.name.startswith(".partial-") and scratch.parent == session.workspace
    scratch.write_bytes(b"new")
    out = session.publish(scratch, "mix", ".wav")
    assert out.name == "mix-2.wav" and out.read_bytes() == b"new"
    assert taken.read_bytes() == b"the user's own mix" and not scratch.exists()


@pytest.mark.parametrize("code", [errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV])
def test_publish_without_hard_links_claims_then_renames(session, monkeypatch, code):
    (session.workspace / "mix.wav").write_bytes(b"old")

    def no_links(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_links)
    scratch = session.scratch_path(".wav")
    scratch.write_bytes(b"new")
    out = session.publish(scratch, "mix", ".wav")
    assert out.name == "mix-2.wav" and out.read_bytes() == b"new" and not scratch.exists()
    assert (session.workspace / "mix.wav").read_bytes() == b"old"


def test_stale_scratch_is_swept_but_a_write_in_progress_is_not(session):
    old = session.scratch_path(".wav")
    fresh = session.scratch_path(".wav")
    os.utime(old, (0, 0))  # untouched since 1970: its process is long gone
    assert session.remove_stale_scratch() == 1
    assert not old.exists() and fresh.exists()
