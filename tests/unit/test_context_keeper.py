"""The context keeper (runtime/context_keeper.py): after a command-path turn of a one-shot `earshot ask`, a
detached process keeps the session's context for its next LLM request — one running and one waiting at most,
in the idle scheduling class."""

import asyncio
import fcntl
import threading

import pytest

from assistant.audio_models.registry import Registry, load_tool
from assistant.pipeline import Assistant
from assistant.runtime import context_keeper
from assistant.runtime.context_keeper import keeper_turn


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


def test_a_keeper_started_while_another_runs_waits_for_it(tmp_path):
    entered, release, released = threading.Event(), threading.Event(), threading.Event()
    first = _hold(tmp_path, "s1", entered, release, released)
    second_ran = threading.Event()

    def second():
        with keeper_turn(tmp_path, "s1") as mine:
            assert mine and released.is_set()  # its turn came after the first one's
            second_ran.set()

    waiting = threading.Thread(target=second)
    waiting.start()
    assert not second_ran.wait(0.3)  # held up while the first one runs
    with keeper_turn(tmp_path, "s2") as mine:  # another session's keeper is not
        assert mine
    release.set()
    first.join()
    waiting.join()
    assert second_ran.is_set()


def test_a_keeper_started_while_another_waits_has_nothing_to_do(tmp_path):
    with keeper_turn(tmp_path, "s1") as mine:  # creates the lock files
        assert mine
    queue = context_keeper.lock_path(tmp_path, "s1").with_suffix(".queue")
    with open(queue, "a+b") as fh:  # a keeper waiting for its turn holds the queue
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        with keeper_turn(tmp_path, "s1") as mine:
            assert mine is False  # the waiting one reads the session when its turn comes: this turn's too
    with keeper_turn(tmp_path, "s1") as mine:
        assert mine


def test_the_keeper_is_a_detached_earshot_models_warm_in_the_idle_scheduling_class(tmp_path, monkeypatch):
    import os
    import sys

    seen = {}
    monkeypatch.setattr(context_keeper.subprocess, "Popen", lambda command, **kw: seen.update(command=command, **kw))
    context_keeper.start_keeper(tmp_path, "s1", "smollm2-135m")
    warm = ["models", "warm", "--session", "s1", "--llm", "smollm2-135m"]
    assert seen["command"] == [sys.executable, "-m", "assistant", *warm]
    assert seen["start_new_session"] is True  # it outlives the `ask` that started it
    assert (tmp_path / context_keeper.LOG_NAME).exists()
    child = os.fork()
    if child == 0:  # what the keeper's process runs before exec, applied to a throwaway child
        seen["preexec_fn"]()
        os._exit(10 if os.sched_getscheduler(0) == os.SCHED_IDLE else 11 if os.getpriority(os.PRIO_PROCESS, 0) else 12)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) in (10, 11)  # the idle class, or (where refused) the lowest nice
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # this process untouched


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


def _keeper_like(tmp_path, session_id: str, *extra: str):
    """A process that holds the session's keeper lock as a keeper does and sleeps; its command line carries
    `extra` (a real keeper's: `models warm --session ID`)."""
    import subprocess
    import sys

    code = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from assistant.runtime.context_keeper import keeper_turn\n"
        "with keeper_turn(Path(sys.argv[1]), sys.argv[2]) as mine:\n"
        "    print('holding', mine, flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), session_id, *extra], stdout=subprocess.PIPE)
    assert proc.stdout.readline().strip() == b"holding True"
    return proc


def test_a_process_about_to_plan_stops_the_sessions_keeper_and_nothing_else(tmp_path):
    import signal

    other = _keeper_like(tmp_path, "s2", "warm", "--session", "s2")  # another session's keeper
    impostor = _keeper_like(tmp_path, "s3")  # holds s3's lock but is no keeper
    keeper = _keeper_like(tmp_path, "s1", "warm", "--session", "s1")
    try:
        assert context_keeper.stop_keepers(tmp_path, "s1") == 1
        assert keeper.wait(10) == -signal.SIGTERM
        assert context_keeper.stop_keepers(tmp_path, "s3") == 0
        assert context_keeper.stop_keepers(tmp_path, "s4") == 0  # no keeper ever
        assert other.poll() is None and impostor.poll() is None
        with keeper_turn(tmp_path, "s1") as mine:  # its lock went with it
            assert mine
    finally:
        for proc in (other, impostor, keeper):
            proc.kill()
            proc.wait()


def test_an_unknown_planner_model_starts_no_keeper_and_fails_nothing(config, session, started):
    assistant = Assistant(config, session, registry=Registry([load_tool("describe")]), llm_name="no-such-model")
    reply = asyncio.run(assistant.ask("hello", keep_context=True))
    assert reply.text.startswith("Hello") and started == []
    assert session.turns()[-1]["status"] == "ok"
