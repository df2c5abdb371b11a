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


class PromptLookup:
    """Draft tokens for speculative decoding, found in the text so far (prompt-lookup decoding).

    A plan copies much of its prompt: file names and words of the request, tool and argument names, and
    the JSON between them, which the prompt's examples spell out (`"},{"tool":"`). When the last few tokens
    decoded also occur earlier in the prompt or the plan, the tokens that followed there are a likely
    continuation: they are evaluated in one batch with the token just chosen, and each is kept only while
    it is the token greedy decoding picks at its position (the grammar checked as always), so the output
    is what token-by-token decoding gives, in fewer sequential steps."""

    def __init__(self, max_draft: int = 8, ngram_max: int = 3, ngram_min: int = 2) -> None:
        self.max_draft = max_draft
        self.ngram_max = ngram_max
        self.ngram_min = ngram_min

    def draft(self, history: np.ndarray, limit: int) -> list[int]:
        """Up to `limit` tokens that followed the most recent earlier occurrence of the longest suffix
        (ngram_max down to ngram_min tokens) of `history`."""
        limit = min(limit, self.max_draft)
        n_hist = len(history)
        if limit <= 0:
            return []
        for n in range(self.ngram_max, self.ngram_min - 1, -1):
            if n_hist <= n:
                continue
            suffix = history[n_hist - n :]
            # Candidate starts i (< n_hist - n) where history[i : i + n] == suffix.
            span = n_hist - n
            hit = history[:span] == suffix[0]
            for k in range(1, n):
                hit &= history[k : span + k] == suffix[k]
            starts = np.flatnonzero(hit)
            if len(starts):
                start = int(starts[-1]) + n
                return history[start : min(start + limit, n_hist)].tolist()
        return []


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
        self.drafted = self.accepted = 0  # prompt-lookup drafts of the last generate() and how many were kept

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
        lookup: PromptLookup | None = None,
    ) -> tuple[str, int, int]:
        """Decode after the evaluated prompt. Returns (text, tokens generated, full-filter passes).

        `forced`: tokens already evaluated at the end of the prompt that the output starts with; the
        grammar is advanced over them (each checked first: accepting a token the grammar forbids
        would abort llama.cpp) and the text includes them. `lookup`: draft tokens from the text so far,
        verified in one batch with each chosen token (PromptLookup)."""
        ll, llm = self.ll, self.llm
        smpl = ll.llama_sampler_init_grammar(
            llm._model.vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text, generated, fallbacks = "", 0, 0
        self.drafted = self.accepted = 0
        try:
            for tok in forced:
                if not self._allowed(smpl, tok):
                    raise ValueError(f"the forced opening {llm.detokenize(list(forced))!r} breaks the grammar")
                ll.llama_sampler_accept(smpl, tok)
                text += decoder.decode(llm.detokenize([tok]))
            logits = self._logits(-1)
            while generated < max_tokens:
                if cancel is not None and cancel.is_set():
                    raise GenerationCancelled()
                GATE.wait_turn()
                tok, fell_back = self._choose(smpl, logits)
                fallbacks += fell_back
                if ll.llama_vocab_is_eog(llm._model.vocab, tok):
                    break
                ll.llama_sampler_accept(smpl, tok)
                piece = decoder.decode(llm.detokenize([tok]))
                text += piece
                generated += 1
                if on_text is not None and piece:
                    on_text(text)
                draft = []
                if lookup is not None and generated < max_tokens:
                    history = np.append(llm.input_ids[: llm.n_tokens], tok)
                    draft = lookup.draft(history, max_tokens - generated)
                if not draft:
                    llm.eval([tok])
                    logits = self._logits(-1)
                    continue
                # Verify the draft: one batch, every position's logits; keep the tokens greedy decoding
                # would have chosen, drop the rest from the KV cache (the next eval truncates to n_tokens).
                n_past = llm.n_tokens
                self._eval_all([tok, *draft])
                self.drafted += len(draft)
                logits = self._logits(0)
                kept = 0
                for i, proposed in enumerate(draft):
                    choice, fell_back = self._choose(smpl, logits)
                    if choice != proposed or ll.llama_vocab_is_eog(llm._model.vocab, choice):
                        break  # `choice` is chosen again from these logits at the top of the loop
                    fallbacks += fell_back
                    ll.llama_sampler_accept(smpl, choice)
                    piece = decoder.decode(llm.detokenize([choice]))
                    text += piece
                    generated += 1
                    kept += 1
                    if on_text is not None and piece:
                        on_text(text)
                    logits = self._logits(i + 1)
                self.accepted += kept
                llm.n_tokens = n_past + 1 + kept
        finally:
            ll.llama_sampler_free(smpl)
        return text, generated, fallbacks

    def _logits(self, i: int) -> np.ndarray:
        """A copy of the logits of batch position `i` (-1: the last) of the latest decode."""
        ll = self.ll
        return np.ctypeslib.as_array(ll.llama_get_logits_ith(self.llm._ctx.ctx, i), shape=(self.n_vocab,)).copy()

    def _choose(self, smpl, logits: np.ndarray) -> tuple[int, int]:
        """The best token the grammar allows: (token, 1 if the full filter had to run else 0)."""
        tok = int(np.argmax(logits))
        if self._allowed(smpl, tok):
            return tok, 0
        return self._best_allowed(smpl, logits), 1

    def _eval_all(self, tokens: list[int]) -> None:
        """llama-cpp-python's eval for one batch, with logits for every position (draft verification)."""
        llm = self.llm
        n_past = llm.n_tokens
        llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
        llm._batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n_past : n_past + len(tokens)] = tokens
        llm.n_tokens = n_past + len(tokens)

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
