"""The planner's per-turn context is a journal: a finished turn only appends to what came before it.

llama.cpp reuses the longest prefix of the prompt it has already evaluated. When a new file was listed at
the top of the per-turn part, every turn after it was evaluated again after each command (~600 tokens,
20–35 s on two cores in the live loop); now the files a turn made follow that turn."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from tests.unit.test_planner_repair import planner

BEFORE_REQUEST = "Request: "


def _context_before_request(p, session) -> str:
    text = p.render("\x01", session)
    return text[: text.rindex(BEFORE_REQUEST)]


def _write(session, name: str) -> None:
    sf.write(session.workspace / name, np.zeros(1600, np.float32), 16000)


def _command_turn(session, request: str, made: str | None) -> None:
    """A finished turn that wrote `made` (as the executor does: the artifact is recorded inside the turn)."""
    turn = session.begin_turn(request)
    reply = "Done."
    if made:
        _write(session, made)
        artifact = session.add_artifact(session.workspace / made, "audio", tool="gain", parents=("@a1",))
        reply = f"Changed the level.\nNew files:\n  {artifact.ref} {made} (audio, 0.1 s) → {artifact.path}"
    session.end_turn(turn, "ok", reply=reply)


def test_a_finished_turn_and_its_files_only_append_to_the_context(session):
    _write(session, "memo.wav")
    session.add_artifact(session.workspace / "memo.wav", "input", duration_s=0.1)
    p = planner([])
    previous = _context_before_request(p, session)
    appended = {}
    for number in range(1, 5):  # inside one window of recent turns (history_turns 6)
        _command_turn(session, f"make memo.wav louder, take {number}", f"memo-{number}.wav")
        now = _context_before_request(p, session)
        assert now.startswith(previous.rstrip()), f"turn {number} changed what came before it"
        appended[number] = now[len(previous.rstrip()) :]
        previous = now
    for number, text in appended.items():  # each turn's file follows that turn
        assert f"take {number}\nEarshot: Changed the level.\nNew file: @a{number + 1} memo-{number}.wav" in text
    # a turn that made nothing appends too
    _command_turn(session, "what's in the project?", None)
    assert _context_before_request(p, session).startswith(previous.rstrip())


def test_files_made_before_the_turns_shown_are_listed_above_them(session):
    _write(session, "memo.wav")
    session.add_artifact(session.workspace / "memo.wav", "input", duration_s=0.1)
    for number in range(1, 8):  # 7 turns: the window (6, in steps of 3) now shows turns 4–7
        _command_turn(session, f"make memo.wav louder, take {number}", f"memo-{number}.wav")
    text = _context_before_request(planner([]), session)
    files, turns = text.split("Recent turns", 1)
    for number in range(1, 4):  # made by turns no longer shown: in the list of files above the turns
        assert f"@a{number + 1} memo-{number}.wav, audio" in files and f"take {number}\n" not in turns
    for number in range(4, 8):  # made by the turns shown: after each, once, without the reply's paths
        assert f"take {number}\n" in turns and turns.count(f"New file: @a{number + 1} memo-{number}.wav") == 1
        assert f"@a{number + 1} memo-{number}.wav" not in files
    assert str(session.workspace) not in turns  # the reply's own file list (with paths) is left out
    assert "Other files in the workspace" not in text  # memo.wav is a1, the rest were made by tools


def test_a_turn_dropped_for_the_budget_keeps_its_files_listed(session):
    _write(session, "memo.wav")
    for number in range(1, 5):
        _command_turn(session, f"make memo.wav louder, take {number} " + "please " * 30, f"memo-{number}.wav")
    p = planner([])
    p.options.history_token_budget = 180  # ScriptedLlm counts words: room for about one long turn
    text = p.render("louder", session)
    for number in range(1, 5):
        assert f"memo-{number}.wav, audio" in text  # every file is still named …
    assert "take 1 " not in text and "take 4 " in text  # … the oldest turns went first


def test_a_user_file_a_turn_begins_to_use_stays_where_it_was_listed(session):
    _write(session, "memo.wav")
    p = planner([])
    previous = _context_before_request(p, session)
    assert "Other files in the workspace: memo.wav" in previous
    turn = session.begin_turn("describe memo.wav")
    session.add_artifact(session.workspace / "memo.wav", "input", duration_s=0.1)  # registered by the turn
    session.end_turn(turn, "ok", reply="memo.wav is 0.1 s long.")
    now = _context_before_request(p, session)
    assert "(none before the turns below)" in now and "Other files in the workspace: memo.wav" in now
    assert now.endswith("New file: @a1 memo.wav, input, 0.1 s, user file\n\n")
