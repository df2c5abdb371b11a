"""A new process continues a session where the last one stopped (runtime/kv_states.py), on SmolLM2.

A one-shot `earshot ask` saves its session's evaluated context after its turn; the next process restores it
and evaluates only its request, and its plans are byte-identical to those of a process that evaluated the
whole context itself. A damaged state is detected and the context evaluated instead."""

import shutil

import pytest

from assistant.config import LlmOptions, PathOptions, PlannerOptions
from assistant.llm.planner import Planner
from assistant.llm.streaming import StreamingPlanner
from assistant.runtime.llm import LlmClient
from tests.conftest import REAL_MODELS_DIR, require_models

pytestmark = pytest.mark.integration

REQUESTS = ["how loud is memo.wav?", "remove the hiss from interview.wav and transcribe it", "thanks, that's all"]
PLAN_TOKENS = 32  # the first tokens of each plan: enough to tell plans apart, bounded for the small model


def _client(cache_dir):
    from assistant.audio_models.registry import default_registry

    path = next((REAL_MODELS_DIR / "smollm2-135m").glob("*.gguf"))
    client = LlmClient(path, LlmOptions(), cache_dir=cache_dir)
    planner = Planner(client, default_registry(), PlannerOptions())
    return client, planner


def _plans(client, planner, session, fresh: bool = False, requests=REQUESTS) -> list[tuple[str, int]]:
    """(plan text, prompt tokens evaluated) of each request, as the planner's first attempt makes it;
    `fresh`: each from the static prefix alone, as a new process without the session's state."""
    out = []
    static = client.count_tokens(planner.prefix())
    for request in requests:
        if fresh:
            client.llm.n_tokens = min(client.llm.n_tokens, static)
        done = client.complete(planner.render(request, session), planner.grammar, PLAN_TOKENS, opening='{"say')
        out.append((done.text, done.prompt_tokens - done.cached_prompt_tokens))
    return out


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    """A session with files and a few finished turns, and the plans of a process that evaluated its whole
    context after restoring only the static prefix (what every one-shot process did before)."""
    require_models("smollm2-135m")
    from assistant.bench.plan_bench import prepare_session

    root = tmp_path_factory.mktemp("states")
    session = prepare_session(root, REAL_MODELS_DIR)
    for text, reply in [
        ("how long is song.wav?", "song.wav is 3.0 s long, 16 kHz, mono, -23 LUFS."),
        ("what key is song.wav in?", "song.wav: A minor, 100 BPM (signal processing)."),
        ("transcribe interview.wav", 'Transcribed interview.wav: "Welcome to the show."'),
    ]:
        turn = session.begin_turn(text)
        session.end_turn(turn, "ok", reply=reply)

    prefix_only = root / "prefix-only"
    prefix_only.mkdir()
    # The static prefix's state as earlier tests saved it in the shared cache (evaluating it takes seconds).
    for state in (PathOptions().cache_dir / "kv").glob("*-prefix-*.kv"):
        shutil.copy(state, prefix_only / state.name)
    client, planner = _client(prefix_only)
    assert planner.warm() in ("evaluated", "disk")
    fresh = _plans(client, planner, session, fresh=True)
    del client, planner
    return root, session, prefix_only, fresh


def test_a_new_process_restores_the_saved_context_evaluates_only_its_request_and_plans_byte_identically(setting):
    root, session, prefix_only, fresh = setting
    cache = root / "with-session"
    shutil.copytree(prefix_only, cache)

    # The first process: its turn is over, it keeps the session's context for the next one.
    first, planner = _client(cache)
    planner.warm()
    evaluated = StreamingPlanner(planner).keep(session)
    context_tokens = first.count_tokens(StreamingPlanner(planner).context_prefix(session))
    assert evaluated > 150  # files, recent turns, "Request:" on top of the static prefix
    kinds = [s.kind for s in first.states.states()]  # the shared cache may hold older prompt versions too
    assert kinds.count("session") == 1 and "prefix" in kinds
    del first, planner

    # The next process restores the session's state at start-up and plans every request the same.
    second, planner = _client(cache)
    assert planner.warm() == "disk"
    assert second.restored == [("session", context_tokens)]
    restored = _plans(second, planner, session)
    for (text, evaluated_fresh), (same_text, evaluated_now), request in zip(fresh, restored, REQUESTS):
        assert same_text == text, request
        # What follows "Request:": the request, its hint line, the chat template's end, the plan's opening
        # (and "Request:"'s last tokens, which merge differently when the request follows them).
        own = second.count_tokens(planner.render(request, session)) - context_tokens + second.count_tokens('{"say') + 3
        assert evaluated_fresh > own + 150  # the whole context, again
        assert evaluated_now <= own  # only its own tokens


def test_a_damaged_state_is_detected_deleted_and_the_context_evaluated_instead(setting):
    root, session, prefix_only, fresh = setting
    cache = root / "damaged"
    shutil.copytree(prefix_only, cache)
    first, planner = _client(cache)
    planner.warm()
    StreamingPlanner(planner).keep(session)
    (state,) = [s for s in first.states.states() if s.kind == "session"]
    del first, planner
    raw = bytearray(state.path.read_bytes())
    raw[state.offset + len(raw[state.offset :]) // 2] ^= 0x10  # one bit in the middle of the KV data
    state.path.write_bytes(bytes(raw))

    second, planner = _client(cache)
    planner.warm()
    assert not state.path.exists()  # refused and removed
    assert [kind for kind, _ in second.restored] == ["prefix"]
    (again,) = _plans(second, planner, session, requests=REQUESTS[:1])
    assert again[0] == fresh[0][0]
    assert again[1] == fresh[0][1]  # the whole context was evaluated, nothing taken from the damaged file


def test_the_keeper_a_command_path_turn_starts_saves_the_context_for_the_next_process(setting):
    """`earshot models warm --session ID`, as `earshot ask` starts it in the background after a turn it planned
    without the LLM (runtime/context_keeper.py): the session's context saved, then nothing left to do."""
    import os
    import subprocess
    import sys

    from assistant.runtime import context_keeper

    root, session, prefix_only, _ = setting
    cache = root / "kept-by-keeper"  # EARSHOT_CACHE: the states are in its kv/
    shutil.copytree(prefix_only, cache / "kv")
    env = dict(os.environ, EARSHOT_HOME=str(root), EARSHOT_MODELS=str(REAL_MODELS_DIR), EARSHOT_CACHE=str(cache))
    command = [sys.executable, "-m", "assistant", "models", "warm", "--session", session.id, "--llm", "smollm2-135m"]

    def keeper() -> str:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    out = keeper()
    evaluated = int(out.split(" context tokens")[0].rsplit(" ", 1)[1])
    assert evaluated > 150  # files, recent turns, "Request:" on top of the static prefix
    client, planner = _client(cache / "kv")
    context_tokens = client.count_tokens(StreamingPlanner(planner).context_prefix(session))
    assert [s.n_tokens for s in client.states.states() if s.kind == "session"] == [context_tokens]
    del client, planner
    assert " 0 context tokens" in keeper()  # the next keeper finds it kept already
    # A keeper waiting already: another one leaves at once (the waiting one reads the session when it runs).
    queue = context_keeper.lock_path(cache, session.id).with_suffix(".queue")
    with open(queue, "a+b") as fh:
        context_keeper.fcntl.flock(fh.fileno(), context_keeper.fcntl.LOCK_EX)
        assert "already waiting" in keeper()
