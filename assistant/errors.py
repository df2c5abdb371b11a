"""One exception type that every user-facing failure goes through.

Each error carries what happened and what to do about it, so the CLI, the TUI and the JSON event
stream can all show the same one-line message without knowing where it came from.
"""

from __future__ import annotations


def one_line(text: str) -> str:
    """An error is one line whatever it quotes: a file name with a newline in it, an exception's
    multi-line text. Line breaks and other control characters are shown escaped ("\\n")."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class EarshotError(Exception):
    """A failure the user can act on: `message` says what happened, `hint` says what to do."""

    exit_code = 2

    def __init__(self, message: str, hint: str = "") -> None:
        message, hint = one_line(message), one_line(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} — {self.hint}" if self.hint else self.message


class ModelMissing(EarshotError):
    """A model file is absent or fails its sha256 check."""


class BadAudio(EarshotError):
    """An input file is unreadable, empty, non-finite or over a configured limit."""


class PathRefused(EarshotError):
    """A named path escapes the workspace and the allowed roots."""


class PlanInvalid(EarshotError):
    """The planner produced a plan that does not validate against the registry."""


class UnknownFile(PlanInvalid):
    """A plan names a file that is not in the workspace. The planner may repair a name it made up,
    but never swaps a file the user typed for another one."""

    def __init__(self, name: str, message: str, hint: str = "") -> None:
        super().__init__(message, hint)
        self.name = name


class ToolFailed(EarshotError):
    """A tool raised, timed out or was cancelled while running a step."""


class Cancelled(EarshotError):
    """The user interrupted the turn (barge-in, Ctrl+C, Esc)."""


class DiskFull(EarshotError):
    """A file could not be written because its disk is full; nothing half-written was kept."""


def disk_full(folder, needed_bytes: int, exc: BaseException) -> DiskFull | None:
    """The clear error for a write that failed because `folder`'s disk is full, or None when the
    failure was something else. libsndfile reports ENOSPC only as "System error.", so the free space
    left is what decides: less than the file needs means the disk was full."""
    import errno
    import os

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        full = True
    else:
        try:
            st = os.statvfs(folder)
        except OSError:
            return None
        full = st.f_bavail * st.f_frsize < needed_bytes
    if not full:
        return None
    try:
        st = os.statvfs(folder)
        free = f"{st.f_bavail * st.f_frsize / 1e6:.1f} MB free"
    except OSError:
        free = "no space left"
    return DiskFull(
        f"the disk holding {folder} is full (the file needs about {max(needed_bytes, 1) / 1e6:.1f} MB, {free}); "
        "nothing was written",
        "free some space, or use a workspace on another disk (--workspace DIR)",
    )
