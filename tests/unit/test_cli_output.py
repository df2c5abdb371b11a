"""What the CLI prints where: progress on stderr, the reply on stdout (so `earshot ask … > out.txt` keeps
the answer and a pipe reads only it)."""

from __future__ import annotations

from assistant.cli.common import human_printer
from assistant.events import PlanReady, Reply, ToolFinished, ToolStarted


def test_progress_goes_to_stderr_and_the_reply_to_stdout(capsys):
    show = human_printer()
    show(PlanReady(({"tool": "describe", "args": {"file": "memo.wav"}},), None, 1, 812.0, 27))
    show(ToolStarted(1, "describe", {"file": "memo.wav"}))
    show(ToolFinished(1, "describe", "ok", 0.4, "Measured memo.wav."))
    show(Reply("memo.wav is 3.0 s long, -18 LUFS."))
    out, err = capsys.readouterr()
    assert out.strip() == "memo.wav is 3.0 s long, -18 LUFS."
    assert "plan (0.8 s): describe" in err and "▶ describe" in err and "✓ describe" in err
    assert "LUFS" not in err
