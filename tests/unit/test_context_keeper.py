"""The context keeper (runtime/context_keeper.py): after a command-path turn of a one-shot `earshot ask`, a
detached process keeps the session's context for its next LLM request — one running and one waiting at most,
and a process about to plan waits for it rather than evaluate the same tokens beside it."""

import asyncio
import threading

import pytest

from assistant.audio_models.registry import Registry, load_tool
from assistant.pipeline import Assistant
from assistant.runtime import context_keeper
from assistant.runtime.context_keeper import keeper_turn, wait_for_keeper


# -- the locks ------------------------------------------------------------------------------------------------
def _hold(cache, session_id, entered: threading.Event, release: threading.Event, released: threading.Event):
    def run():
        with keeper_turn(cache, session_id) as mine:
            assert mine
            entered.set()
            release.wait(10)
            released.set()

    thread = threading.Thread(target=run)
    thread.start()
    assert entered.wait(10)
    return thread


def test_without_a_keeper_nothing_waits(tmp_path):
    assert wait_for_keeper(tmp_path, "s1") == 0.0  # no lock file at all
    with keeper_turn(tmp_path, "s1") as mine:
        assert mine
    assert wait_for_keeper(tmp_path, "s1", timeout_s=5) < 5  # a lock file nobody holds


def test_a_planning_process_waits_until_the_keeper_is_done(tmp_path):
    entered, release, released = threading.Event(), threading.Event(), threading.Event()
    thread = _hold(tmp_path, "s1", entered, release, released)
    threading.Timer(0.2, release.set).start()
    wait_for_keeper(tmp_path, "s1", timeout_s=10)
    assert released.is_set()  # it returned only after the keeper let go
    thread.join()


def test_one_keeper_runs_one_waits_and_the_rest_have_nothing_to_do(tmp_path):
    entered, release, released = threading.Event(), threading.Event(), threading.Event()
    first = _hold(tmp_path, "s1", entered, release, released)
    second_ran = threading.Event()

    def second():
        with keeper_turn(tmp_path, "s1") as mine:
            assert mine and released.is_set()  # its turn came after the first one's
            second_ran.set()

    waiting = threading.Thread(target=second)
    waiting.start()
    queue = context_keeper.lock_path(tmp_path, "s1").with_suffix(".queue")
    for _ in range(200):  # until the second keeper holds the queue
        with open(queue, "a+b") as fh:
            try:
                context_keeper.fcntl.flock(fh.fileno(), context_keeper.fcntl.LOCK_EX | context_keeper.fcntl.LOCK_NB)
                context_keeper.fcntl.flock(fh.fileno(), context_keeper.fcntl.LOCK_UN)
            except BlockingIOError:
                break
        threading.Event().wait(0.01)
    with keeper_turn(tmp_path, "s1") as mine:
        assert mine is False  # a third: the waiting one will read the session after this turn anyway
    assert not second_ran.is_set()
    release.set()
    first.join()
    waiting.join()
    assert second_ran.is_set()
    with keeper_turn(tmp_path, "s2") as mine:  # another session's keeper is not held up by these
        assert mine


# -- when a one-shot turn starts it ---------------------------------------------------------------------------
class NoLlm:
    def plan(self, *args, **kwargs):
        raise AssertionError("the LLM was asked")


@pytest.fixture
def started(monkeypatch):
    calls = []
    monkeypatch.setattr(context_keeper, "start_keeper", lambda *a: calls.append(a))
    monkeypatch.delenv("EARSHOT_NO_BACKGROUND", raising=False)
    return calls


def _ask(config, session, keep_context=True, installed=True, monkeypatch=None):
    assistant = Assistant(config, session, registry=Registry([load_tool("describe")]))
    monkeypatch.setattr(assistant.models, "installed", lambda name: installed)
    if keep_context:
        asyncio.run(assistant.ask("hello", keep_context=True))
    else:
        asyncio.run(assistant.ask("hello"))
    return assistant


def test_a_command_path_turn_of_a_one_shot_process_starts_the_keeper(config, session, started, monkeypatch):
    assistant = _ask(config, session, monkeypatch=monkeypatch)
    assert assistant._planner is None  # the LLM was never loaded
    assert started == [(config.paths.cache_dir, session.id, None)]


def test_no_keeper_when_asked_not_to_or_nothing_to_keep_with(config, session, started, monkeypatch):
    _ask(config, session, keep_context=False, monkeypatch=monkeypatch)  # the TUI, the voice loop: a running process
    _ask(config, session, installed=False, monkeypatch=monkeypatch)  # no planner model to evaluate with
    config.llm.session_states = 0
    _ask(config, session, monkeypatch=monkeypatch)
    config.llm.session_states = 4
    config.llm.keep_context_in_background = False
    _ask(config, session, monkeypatch=monkeypatch)
    config.llm.keep_context_in_background = True
    monkeypatch.setenv("EARSHOT_NO_BACKGROUND", "1")
    _ask(config, session, monkeypatch=monkeypatch)
    assert started == []


def test_a_turn_the_llm_planned_keeps_the_context_itself(config, session, started, monkeypatch):
    assistant = Assistant(config, session, registry=Registry([load_tool("describe")]))
    assistant._planner = NoLlm()  # loaded: this process saves the context (its own `_keep_context`)
    kept = []
    monkeypatch.setattr(assistant, "_keep_context", lambda: kept.append(True))
    asyncio.run(assistant.ask("hello", keep_context=True))
    assert kept == [True] and started == []
