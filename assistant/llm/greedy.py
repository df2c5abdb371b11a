"""Grammar-constrained decoding that checks the grammar on the likeliest token(s) first.

Plans are decoded greedily (temperature 0: reproducible). Greedy decoding under a grammar only needs
the highest-scoring *allowed* token. llama.cpp's grammar sampler filters the whole vocabulary
(151k tokens for Qwen) at every step, which made constrained generation ~2x slower than free
generation here. This decoder asks the grammar about the model's top token alone and runs the full
filter only when that token is rejected (about 1 step in 30 of a typical plan). The output is
identical to llama.cpp's greedy grammar sampling: the best allowed token is chosen either way.

It also checks a cancel event before every token (speculative planning in the voice loop stops
within one token when the user keeps talking) and reports the text as it grows (`on_text`), so
the reply in "say" can be spoken before the plan's JSON is closed.

Writing tasks (compose's score) sample instead (`Sampling`): the same truncation steps as
llama.cpp's sampler chain (repeat penalty, top-k, top-p, min-p, temperature), then a token is drawn
from the truncated distribution and asked to the grammar; a rejected token is removed and the draw
repeated, which samples exactly the truncated distribution restricted to allowed tokens. Only when
no likely token is allowed does the full filter run. Before, sampling went through llama.cpp's own
sampler, which filters the whole vocabulary at every step (the compose tests took twice as long).

The KV-cache bookkeeping of llama-cpp-python (`n_tokens`, `input_ids`) is kept exactly as its own
`eval` keeps it, so prefix reuse works the same for every caller.
"""
from __future__ import annotations

import codecs
import ctypes
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np


class GenerationCancelled(Exception):
    """The caller's cancel event was set (the user kept talking, or pressed Esc)."""


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class Sampling:
    """Sampling settings with llama.cpp's meanings and defaults (create_completion)."""
    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    repeat_last_n: int = 64
    seed: int = 0


class GreedyGrammarDecoder:
    """Bound to one llama_cpp.Llama; the caller holds the model's lock around every call."""

    def __init__(self, llm) -> None:
        import llama_cpp

        self.ll = llama_cpp
        self.llm = llm
        self.n_vocab = llm.n_vocab()
        # One candidate array for the full filter (~1.8 MB for 151k tokens), reused every step.
        self._cand = np.zeros(self.n_vocab, dtype=np.dtype([("id", np.int32), ("logit", np.float32),
                                                            ("p", np.float32)], align=True))
        self._cand["id"] = np.arange(self.n_vocab, dtype=np.int32)
        self._one = (llama_cpp.llama_token_data * 1)()

    def sync_prefix(self, tokens: list[int], need_logits: bool) -> int:
        """Keep the longest cached prefix of `tokens`, evaluate the rest; returns tokens evaluated."""
        llm = self.llm
        cached = common_prefix(llm._input_ids.tolist()[: llm.n_tokens], tokens)
        if need_logits and cached >= len(tokens):
            cached = len(tokens) - 1           # re-evaluate the last token to get its logits
        llm.n_tokens = cached
        rest = tokens[cached:]
        if rest:
            llm.eval(rest)
        return len(rest)

    def generate(self, grammar, max_tokens: int, cancel: threading.Event | None = None,
                 on_text: Callable[[str], None] | None = None,
                 sampling: Sampling | None = None) -> tuple[str, int, int]:
        """Decode after the evaluated prompt, greedily or (`sampling`) by sampling.
        Returns (text, tokens generated, full-filter passes)."""
        rng = np.random.default_rng(sampling.seed) if sampling is not None else None
        recent: list[int] = []
        ll, llm = self.ll, self.llm
        smpl = ll.llama_sampler_init_grammar(llm._model.vocab, grammar._grammar.encode("utf-8"),
                                             grammar._root.encode("utf-8"))
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text, generated, fallbacks = "", 0, 0
        try:
            for _ in range(max_tokens):
                if cancel is not None and cancel.is_set():
                    raise GenerationCancelled()
                logits = np.ctypeslib.as_array(ll.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(self.n_vocab,))
                if sampling is not None:
                    tok, filtered = self._sample_allowed(smpl, logits, sampling, rng, recent)
                    fallbacks += filtered
                    recent.append(tok)
                else:
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
        arr = ll.llama_token_data_array(data=ctypes.cast(one, ctypes.POINTER(ll.llama_token_data)), size=1,
                                        selected=-1, sorted=False)
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        return bool(np.isfinite(one[0].logit))

    def _best_allowed(self, smpl, logits: np.ndarray) -> int:
        return int(np.argmax(self._filtered(smpl, logits)))

    def _filtered(self, smpl, logits: np.ndarray) -> np.ndarray:
        """The full filter: logits with every token the grammar rejects at -inf."""
        ll, cand = self.ll, self._cand
        cand["id"] = np.arange(self.n_vocab, dtype=np.int32)   # the sampler may reorder the array
        cand["logit"] = logits
        cand["p"] = 0.0
        arr = ll.llama_token_data_array(data=cand.ctypes.data_as(ctypes.POINTER(ll.llama_token_data)),
                                        size=self.n_vocab, selected=-1, sorted=False)
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        out = np.full(self.n_vocab, -np.inf, dtype=np.float32)
        out[cand["id"][: arr.size]] = cand["logit"][: arr.size]
        return out

    def _sample_allowed(self, smpl, logits: np.ndarray, s: Sampling, rng: np.random.Generator,
                        recent: list[int]) -> tuple[int, int]:
        """Draw from the truncated distribution restricted to allowed tokens; returns (token, 1 if the
        full filter ran else 0)."""
        logits = penalize_repeats(logits, recent[-s.repeat_last_n:], s.repeat_penalty)
        ids, probs = truncated_distribution(logits, s)
        while probs.sum() > 0:
            i = int(rng.choice(len(ids), p=probs / probs.sum()))
            if self._allowed(smpl, int(ids[i])):
                return int(ids[i]), 0
            probs[i] = 0.0                     # rejected by the grammar: draw again without it
        ids, probs = truncated_distribution(self._filtered(smpl, logits), s)
        return int(ids[int(rng.choice(len(ids), p=probs / probs.sum()))]), 1


def penalize_repeats(logits: np.ndarray, recent: list[int], penalty: float) -> np.ndarray:
    """llama.cpp's repeat penalty: a recent token's positive logit is divided by it, a negative one
    multiplied (so it always becomes less likely)."""
    if penalty == 1.0 or not recent:
        return logits
    out = logits.copy()
    ids = np.unique(np.asarray(recent, dtype=np.int64))
    seen = out[ids]
    out[ids] = np.where(seen > 0, seen / penalty, seen * penalty)
    return out


def truncated_distribution(logits: np.ndarray, s: Sampling) -> tuple[np.ndarray, np.ndarray]:
    """Token ids and probabilities after llama.cpp's chain: top-k, top-p and min-p on the untempered
    softmax, then the temperature. Tokens at -inf (rejected by a grammar) never survive."""
    finite = int(np.isfinite(logits).sum())
    k = max(1, min(s.top_k if s.top_k > 0 else len(logits), finite))
    top = np.argpartition(-logits, k - 1)[:k]
    top = top[np.argsort(-logits[top], kind="stable")]
    z = logits[top].astype(np.float64)
    p = np.exp(z - z[0])
    p /= p.sum()
    keep = int(np.searchsorted(np.cumsum(p), s.top_p) + 1) if s.top_p < 1.0 else len(p)
    keep = max(1, min(keep, len(p), int((p >= s.min_p * p[0]).sum())))
    top, z = top[:keep], z[:keep]
    t = np.exp((z - z[0]) / max(s.temperature, 1e-6))
    return top, t / t.sum()
