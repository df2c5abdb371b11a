"""Greedy, grammar-constrained decoding that checks the grammar on the top token first.

Plans are decoded greedily (temperature 0: reproducible). Greedy decoding under a grammar only needs
the highest-scoring *allowed* token. llama.cpp's grammar sampler filters the whole vocabulary
(151k tokens for Qwen) at every step, which made constrained generation ~2x slower than free
generation here. This decoder asks the grammar about the model's top token alone and runs the full
filter only when that token is rejected (about 1 step in 30 of a typical plan). The output is
identical to llama.cpp's greedy grammar sampling: the best allowed token is chosen either way.

It also checks a cancel event before every token (speculative planning in the voice loop stops
within one token when the user keeps talking) and reports the text as it grows (`on_text`), so
the reply in "say" can be spoken before the plan's JSON is closed.

The KV-cache bookkeeping of llama-cpp-python (`n_tokens`, `input_ids`) is kept exactly as its own
`eval` keeps it, so prefix reuse works the same for every caller.
"""

from __future__ import annotations

import codecs
import ctypes
import threading
from collections.abc import Callable

import numpy as np

from .compute_gate import GATE

# Prefilled context (the voice loop, between turns and while the user speaks) is evaluated in chunks of
# this many tokens, so foreground work (its ASR, see compute_gate.py) shares the CPU with at most one
# chunk (~0.5 s on two cores), not a whole history.
EVAL_CHUNK_TOKENS = 16


class GenerationCancelled(Exception):
    """The caller's cancel event was set (the user kept talking, or pressed Esc)."""


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


class GreedyGrammarDecoder:
    """Bound to one llama_cpp.Llama; the caller holds the model's lock around every call."""

    def __init__(self, llm) -> None:
        import llama_cpp

        self.ll = llama_cpp
        self.llm = llm
        self.n_vocab = llm.n_vocab()
        # One candidate array for the full filter (~1.8 MB for 151k tokens), reused every step.
        self._cand = np.zeros(
            self.n_vocab, dtype=np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)
        )
        self._cand["id"] = np.arange(self.n_vocab, dtype=np.int32)
        self._one = (llama_cpp.llama_token_data * 1)()

    def sync_prefix(self, tokens: list[int], need_logits: bool, should_stop: Callable[[], bool] | None = None) -> int:
        """Keep the longest cached prefix of `tokens`, evaluate the rest; returns tokens evaluated.
        A prefill (`need_logits` False) stops between chunks when `should_stop()` says so."""
        llm = self.llm
        cached = common_prefix(llm._input_ids.tolist()[: llm.n_tokens], tokens)
        if need_logits and cached >= len(tokens):
            cached = len(tokens) - 1  # re-evaluate the last token to get its logits
        llm.n_tokens = cached
        rest = tokens[cached:]
        if need_logits:
            # A request's prompt in one batch, as the routing figures were measured: logits depend a
            # little on how a prompt is batched, and a near tie between two plans can flip with them.
            if rest:
                llm.eval(rest)
            return len(rest)
        done = 0
        for i in range(0, len(rest), EVAL_CHUNK_TOKENS):
            GATE.wait_turn()
            if should_stop is not None and should_stop():
                break
            chunk = rest[i : i + EVAL_CHUNK_TOKENS]
            llm.eval(chunk)
            done += len(chunk)
        return done

    def generate(
        self,
        grammar,
        max_tokens: int,
        cancel: threading.Event | None = None,
        on_text: Callable[[str], None] | None = None,
        forced: list[int] = (),
    ) -> tuple[str, int, int]:
        """Decode after the evaluated prompt. Returns (text, tokens generated, full-filter passes).

        `forced`: tokens already evaluated at the end of the prompt that the output starts with; the
        grammar is advanced over them (each checked first: accepting a token the grammar forbids
        would abort llama.cpp) and the text includes them."""
        ll, llm = self.ll, self.llm
        smpl = ll.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text, generated, fallbacks = "", 0, 0
        try:
            for tok in forced:
                if not self._allowed(smpl, tok):
                    raise ValueError(f"the forced opening {llm.detokenize(list(forced))!r} breaks the grammar")
                ll.llama_sampler_accept(smpl, tok)
                text += decoder.decode(llm.detokenize([tok]))
            for _ in range(max_tokens):
                if cancel is not None and cancel.is_set():
                    raise GenerationCancelled()
                GATE.wait_turn()
                logits = np.ctypeslib.as_array(ll.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(self.n_vocab,))
                tok = int(np.argmax(logits))
                if not self._allowed(smpl, tok):
                    fallbacks += 1
                    tok = self._best_allowed(smpl, logits)
                if ll.llama_vocab_is_eog(llm._model.vocab, tok):
                    break
                ll.llama_sampler_accept(smpl, tok)
                piece = decoder.decode(llm.detokenize([tok]))
                text += piece
                generated += 1
                if on_text is not None and piece:
                    on_text(text)
                llm.eval([tok])
        finally:
            ll.llama_sampler_free(smpl)
        return text, generated, fallbacks

    def _allowed(self, smpl, tok: int) -> bool:
        ll, one = self.ll, self._one
        one[0].id, one[0].logit, one[0].p = tok, 0.0, 0.0
        arr = ll.llama_token_data_array(
            data=ctypes.cast(one, ctypes.POINTER(ll.llama_token_data)), size=1, selected=-1, sorted=False
        )
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        return bool(np.isfinite(one[0].logit))

    def _best_allowed(self, smpl, logits: np.ndarray) -> int:
        ll, cand = self.ll, self._cand
        cand["logit"] = logits
        cand["p"] = 0.0
        arr = ll.llama_token_data_array(
            data=cand.ctypes.data_as(ctypes.POINTER(ll.llama_token_data)), size=self.n_vocab, selected=-1, sorted=False
        )
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        return int(cand["id"][int(np.argmax(cand["logit"]))])
