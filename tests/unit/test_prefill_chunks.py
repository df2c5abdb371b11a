"""greedy.sync_prefix: prefill goes in chunks and gives way; a request's prompt is one batch."""

import numpy as np

from assistant.runtime.greedy import EVAL_CHUNK_TOKENS, GreedyGrammarDecoder


class FakeLlm:
    """The part of llama_cpp.Llama that sync_prefix touches: the evaluated tokens and eval()."""

    def __init__(self):
        self.n_tokens = 0
        self._input_ids = np.zeros(512, np.int64)
        self.calls: list[int] = []

    def n_vocab(self):
        return 8

    def eval(self, tokens):
        self._input_ids[self.n_tokens : self.n_tokens + len(tokens)] = tokens
        self.n_tokens += len(tokens)
        self.calls.append(len(tokens))


def test_a_prefill_stops_between_chunks_and_the_request_reuses_what_it_evaluated():
    llm = FakeLlm()
    dec = GreedyGrammarDecoder(llm)
    prompt = list(range(1, 3 * EVAL_CHUNK_TOKENS + 5))
    # A request arrives after the first chunk: the prefill gives way.
    done = dec.sync_prefix(prompt, need_logits=False, should_stop=lambda: len(llm.calls) >= 1)
    assert done == EVAL_CHUNK_TOKENS and llm.n_tokens == EVAL_CHUNK_TOKENS
    # The request keeps that prefix and evaluates the rest of its prompt in one batch.
    evaluated = dec.sync_prefix(prompt, need_logits=True)
    assert evaluated == len(prompt) - EVAL_CHUNK_TOKENS and llm.calls[-1] == evaluated
    assert list(llm._input_ids[: llm.n_tokens]) == prompt


def test_an_uninterrupted_prefill_evaluates_everything_in_chunks():
    llm = FakeLlm()
    dec = GreedyGrammarDecoder(llm)
    prompt = list(range(1, 2 * EVAL_CHUNK_TOKENS + 3))
    assert dec.sync_prefix(prompt, need_logits=False) == len(prompt)
    assert llm.calls == [EVAL_CHUNK_TOKENS, EVAL_CHUNK_TOKENS, 2]
