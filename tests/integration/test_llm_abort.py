"""A cancelled request stops llama.cpp mid-decode (DecodeAbort), and the KV cache stays exact.

Before this, a speculative plan the user talked over kept the model busy until its prompt batch was
evaluated (1–2 s on two cores) and the real request waited behind it."""

import threading

import pytest

from assistant.config import LlmOptions
from assistant.llm.planner import load_planner
from assistant.runtime.llm import GenerationCancelled, LlmClient
from tests.conftest import REAL_MODELS_DIR, require_models

pytestmark = pytest.mark.integration

N_BATCH = 512  # llama-cpp-python's default batch: eval() decodes a long prompt in batches of this size


@pytest.fixture(scope="module")
def smol():
    require_models("smollm2-135m")
    from assistant.audio_models.registry import default_registry
    from assistant.config import EarshotConfig, PathOptions

    config = EarshotConfig(paths=PathOptions(models_dir=REAL_MODELS_DIR))
    planner = load_planner(config, default_registry(), "smollm2-135m")
    client = LlmClient(planner.llm.model_path, LlmOptions(context_tokens=8192))
    return client, planner


def _chat(client, request: str) -> str:
    # A bare chat (no tool list): the cache's integrity is under test, not routing, and it keeps the test short.
    return client.render_chat([{"role": "user", "content": request}])


def test_a_fired_abort_stops_the_decode_and_leaves_the_token_count_at_the_cached_prefix(smol):
    client, _ = smol
    tokens = client.llm.tokenize(_chat(client, "hello there " * 150).encode(), add_bos=False, special=True)
    client.llm.reset()
    client.llm.eval(tokens[:100])
    aborted_before = client.abort.aborted
    with pytest.raises(GenerationCancelled):
        with client.abort.watching(lambda: True, poll_s=0.0001):
            client.abort.fire()  # deterministic: the flag is up before the decode starts
            client.llm.eval(tokens[100:])
    assert client.abort.aborted == aborted_before + 1  # the decode's error was told to be our abort
    assert client.llm.n_tokens == 100  # nothing of the aborted batch counts as evaluated
    assert not client.abort.fired  # leaving the block lowers the flag: later decodes run
    client.llm.eval(tokens[100:])
    assert client.llm.n_tokens == len(tokens)


def test_cancelling_a_long_prompt_mid_evaluation_raises_cancelled_and_the_next_plan_is_unchanged(smol):
    client, planner = smol
    short = _chat(client, "what can you do?")
    reference = client.complete(short, planner.grammar, 120, opening='{"say').text

    # ~4,000 tokens: eight batches, seconds of work on a small CPU; the cancel lands inside one.
    long_prompt = _chat(client, "describe memo.wav " + "and then make it louder " * 800)
    n_long = len(client.llm.tokenize(long_prompt.encode(), add_bos=False, special=True))
    assert n_long > 6 * N_BATCH
    client.llm.reset()
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    aborted_before = client.abort.aborted
    timer.start()
    with pytest.raises(GenerationCancelled):
        client.complete(long_prompt, planner.grammar, 8, cancel=cancel)
    timer.cancel()
    assert client.abort.aborted == aborted_before + 1  # stopped inside a decode, not between tokens
    assert client.llm.n_tokens < n_long and client.llm.n_tokens % N_BATCH == 0

    # The cache holds only whole, finished batches: the same request plans exactly as before.
    assert client.complete(short, planner.grammar, 120, opening='{"say').text == reference


def test_a_prefill_gives_way_mid_batch_and_reports_what_it_finished(smol):
    client, _ = smol
    text = _chat(client, "describe memo.wav " + "and then make it louder " * 300)
    client.llm.reset()
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    done = client.prefill(text, cancel)
    total = len(client.llm.tokenize(text.encode(), add_bos=False, special=True))
    assert 0 <= done < total
    assert client.llm.n_tokens == done  # it started from an empty cache


def test_a_prefill_pauses_mid_chunk_for_the_speech_path_and_then_finishes_exactly(smol):
    """While the loop's ASR pass holds the compute gate, a prefill stops inside its chunk (the decode is
    aborted, not left to run beside the ASR) and evaluates it again afterwards: all of the text, and a plan
    on it decodes exactly as on a cache evaluated without interruption."""
    from assistant.runtime.compute_gate import GATE

    client, planner = smol
    text = _chat(client, "describe memo.wav " + "and then make it louder " * 300)
    total = len(client.llm.tokenize(text.encode(), add_bos=False, special=True))
    client.llm.reset()
    yielded_before = client.yielded
    release = threading.Event()

    def speech_path() -> None:  # an ASR pass: holds the gate until told to stop
        with GATE.foreground():
            release.wait(5)

    holder = threading.Timer(0.2, speech_path)
    holder.start()
    threading.Timer(0.6, release.set).start()
    done = client.prefill(text, threading.Event())
    holder.join()
    assert done == total and client.llm.n_tokens == total
    assert client.yielded > yielded_before  # it did stop inside a chunk for the speech path
    interrupted = client.complete(text, planner.grammar, 24, opening='{"say').text
    client.llm.reset()
    assert client.complete(text, planner.grammar, 24, opening='{"say').text == interrupted
