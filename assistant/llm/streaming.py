"""Planning for the voice loop: the same prompt, grammar and validation as planner.py, but

- **prefill**: evaluate the per-turn context (artifact table, recent turns, "Request:") between
  turns, and the words of a partial transcript while the user is still speaking, so at the end of
  speech only the last few tokens of the request are left to evaluate;
- **cancellable**: generation checks a `threading.Event` before every token, so speculation
  started at the first silent frame stops within one token (~35 ms) when the user goes on;
- **streamed `say`**: the plan's `"say"` string is decoded as it is generated and handed out
  sentence by sentence, so the reply starts playing before the plan's JSON is closed;
- **fast grammar check**: greedy decoding under a grammar only needs to know whether the model's
  top token is allowed. llama.cpp's grammar sampler filters the whole 151k-token vocabulary every
  step (measured: generation ~2× slower than without a grammar); here the top token is checked
  alone first and the full filter runs only when it is rejected. The output is identical to greedy
  decoding with the grammar (the highest-scoring allowed token is chosen either way).

The KV cache bookkeeping (`n_tokens`, `input_ids`) is kept exactly as llama-cpp-python keeps it, so
the ordinary `LlmClient.complete` still reuses whatever prefix this module left in the cache.
"""
from __future__ import annotations

import codecs
import ctypes
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import PlanInvalid
from ..plan import parse_plan
from . import prompts
from .client import _common_prefix
from .planner import Attempt, PlanOutcome, Planner

_REQUEST_LABEL = "Request:"


class GenerationCancelled(Exception):
    """The caller's cancel event was set (the user kept talking)."""


@dataclass
class StreamStats:
    prompt_tokens: int = 0
    evaluated_tokens: int = 0        # prompt tokens not found in the KV cache
    completion_tokens: int = 0
    full_grammar_passes: int = 0     # steps where the top token was rejected and the full filter ran
    first_say_ms: float | None = None
    elapsed_ms: float = 0.0


class _SayDecoder:
    """Incrementally decodes the JSON string value of "say" from a growing plan text, emitting
    whole sentences as soon as they end. Only for plans with no steps (a pure spoken answer)."""

    _HEAD = re.compile(r'^\{\s?"steps"\s?:\s?\[\s?\]\s?,\s?"say"\s?:\s?"')

    def __init__(self, on_sentence: Callable[[str], None], first_clause_words: int = 0) -> None:
        self.on_sentence = on_sentence
        # The first chunk may end at a comma once it has this many words (0: sentences only), so
        # a long first sentence starts playing a clause earlier ("I can transcribe, …").
        self.first_clause_words = first_clause_words
        self.active: bool | None = None     # None: undecided; False: a tool plan, no streaming
        self._pos = 0
        self._buf = ""
        self._escape: str | None = None
        self.done = False
        self.emitted: list[str] = []

    def feed(self, text: str) -> None:
        if self.done or self.active is False:
            return
        if self.active is None:
            m = self._HEAD.match(text)
            if m:
                self.active = True
                self._pos = m.end()
            elif '"steps":[{' in text.replace(" ", "") or text.replace(" ", "").startswith('{"steps":[{'):
                self.active = False
                return
            else:
                return
        while self._pos < len(text) and not self.done:
            ch = text[self._pos]
            if self._escape is not None:
                self._escape += ch
                if self._escape[0] == "u":
                    if len(self._escape) < 5:
                        self._pos += 1
                        continue
                    try:
                        self._buf += chr(int(self._escape[1:], 16))
                    except ValueError:
                        pass
                else:
                    self._buf += {"n": " ", "t": " ", "r": " ", "b": "", "f": ""}.get(ch, ch)
                self._escape = None
            elif ch == "\\":
                self._escape = ""
            elif ch == '"':
                self.done = True
                self._flush(final=True)
            else:
                self._buf += ch
                if ch == " " and self._buf.rstrip()[-1:] in (".", "!", "?"):
                    self._flush(final=False)
                elif ch == " " and not self.emitted and self.first_clause_words and \
                        self._buf.rstrip()[-1:] in (",", ";", ":") and \
                        len(self._buf.split()) >= self.first_clause_words:
                    self._flush(final=False)
            self._pos += 1

    def _flush(self, final: bool) -> None:
        sentence = self._buf.strip()
        if sentence and (final or len(sentence) > 1):
            self.emitted.append(sentence)
            self.on_sentence(sentence)
        self._buf = ""


class StreamingPlanner:
    """Wraps a loaded `Planner`; one instance per process (the LLM is shared and serialised)."""

    def __init__(self, planner: Planner) -> None:
        self.planner = planner
        self.client = planner.llm
        llm = self.client.llm
        self._n_vocab = llm.n_vocab()
        self._cand = np.zeros(self._n_vocab, dtype=np.dtype([("id", np.int32), ("logit", np.float32),
                                                             ("p", np.float32)], align=True))
        self._cand["id"] = np.arange(self._n_vocab, dtype=np.int32)
        self._one = (_llama().llama_token_data * 1)()
        self.last_stats = StreamStats()

    # -- prompts ------------------------------------------------------------------------------
    def render(self, request: str, session) -> str:
        """The exact prompt `Planner.plan` would send for this request (same trimming)."""
        p = self.planner
        lines, files, recent = p._context(session)
        messages = [{"role": "system", "content": p.system},
                    {"role": "user", "content": p._trim(request, lines, files, recent)}]
        return self.client.render_chat(messages)

    def context_prefix(self, session) -> str:
        """The prompt up to and including "Request:": everything but the request's own words."""
        full = self.render("\x01", session)
        cut = full.rfind(_REQUEST_LABEL + " \x01")
        return full[: cut + len(_REQUEST_LABEL)] if cut >= 0 else self.planner.prefix()

    def partial_prefix(self, partial_request: str, session) -> str:
        """The prompt up to the end of a partial request (no closing chat template)."""
        full = self.render(partial_request.strip() + "\x01", session)
        return full[: full.index("\x01")]

    # -- KV cache -----------------------------------------------------------------------------
    def _tokens(self, text: str) -> list[int]:
        return self.client.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _sync_prefix(self, tokens: list[int], need_logits: bool) -> int:
        """Keep the longest cached prefix of `tokens`, evaluate the rest; returns tokens evaluated."""
        llm = self.client.llm
        cached = _common_prefix(llm._input_ids.tolist()[: llm.n_tokens], tokens)
        if need_logits and cached >= len(tokens):
            cached = len(tokens) - 1           # re-evaluate the last token to get its logits
        llm.n_tokens = cached
        rest = tokens[cached:]
        if rest:
            llm.eval(rest)
        return len(rest)

    def prefill(self, text: str, cancel: threading.Event | None = None) -> int:
        """Evaluate `text` into the KV cache (skipped when the LLM is busy with a real turn)."""
        if not self.client._lock.acquire(timeout=0.0 if cancel is not None else 5.0):
            return 0
        try:
            if cancel is not None and cancel.is_set():
                return 0
            tokens = self._tokens(text)
            if len(tokens) + 8 > self.client.options.context_tokens:
                return 0
            return self._sync_prefix(tokens, need_logits=False)
        finally:
            self.client._lock.release()

    # -- generation ---------------------------------------------------------------------------
    def generate(self, prompt: str, max_tokens: int, cancel: threading.Event | None = None,
                 on_text: Callable[[str], None] | None = None) -> tuple[str, StreamStats]:
        """Greedy, grammar-constrained generation with the fast top-token grammar check."""
        ll = _llama()
        stats = StreamStats()
        t0 = time.perf_counter()
        with self.client._lock:
            llm = self.client.llm
            tokens = self._tokens(prompt)
            stats.prompt_tokens = len(tokens)
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled()
            stats.evaluated_tokens = self._sync_prefix(tokens, need_logits=True)
            grammar = self.planner.grammar
            smpl = ll.llama_sampler_init_grammar(llm._model.vocab, grammar._grammar.encode("utf-8"),
                                                 grammar._root.encode("utf-8"))
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            text = ""
            try:
                for _ in range(max_tokens):
                    if cancel is not None and cancel.is_set():
                        raise GenerationCancelled()
                    logits = np.ctypeslib.as_array(ll.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(self._n_vocab,))
                    tok = int(np.argmax(logits))
                    if not self._allowed(smpl, tok):
                        stats.full_grammar_passes += 1
                        tok = self._best_allowed(smpl, logits)
                    if ll.llama_vocab_is_eog(llm._model.vocab, tok):
                        break
                    ll.llama_sampler_accept(smpl, tok)
                    piece = decoder.decode(llm.detokenize([tok]))
                    text += piece
                    stats.completion_tokens += 1
                    if on_text is not None and piece:
                        on_text(text)
                    llm.eval([tok])
            finally:
                ll.llama_sampler_free(smpl)
        stats.elapsed_ms = (time.perf_counter() - t0) * 1000
        return text, stats

    def _allowed(self, smpl, tok: int) -> bool:
        ll = _llama()
        one = self._one
        one[0].id, one[0].logit, one[0].p = tok, 0.0, 0.0
        arr = ll.llama_token_data_array(data=ctypes.cast(one, ctypes.POINTER(ll.llama_token_data)), size=1,
                                        selected=-1, sorted=False)
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        return bool(np.isfinite(one[0].logit))

    def _best_allowed(self, smpl, logits: np.ndarray) -> int:
        ll = _llama()
        cand = self._cand
        cand["logit"] = logits
        cand["p"] = 0.0
        arr = ll.llama_token_data_array(data=cand.ctypes.data_as(ctypes.POINTER(ll.llama_token_data)),
                                        size=self._n_vocab, selected=-1, sorted=False)
        ll.llama_sampler_apply(smpl, ctypes.byref(arr))
        return int(cand["id"][int(np.argmax(cand["logit"]))])

    # -- planning -----------------------------------------------------------------------------
    def plan(self, request: str, session, allowed_roots: tuple[Path, ...] = (), *,
             cancel: threading.Event | None = None,
             on_say_sentence: Callable[[str], None] | None = None, first_clause_words: int = 0) -> PlanOutcome:
        """`Planner.plan`, streamed and cancellable. Raises GenerationCancelled when cancelled.

        `on_say_sentence` receives the sentences of "say" as they are generated, only for plans
        without steps (a spoken answer): a plan with steps is spoken after its tools have run."""
        p = self.planner
        outcome = PlanOutcome(plan=None)
        lines, files, recent = p._context(session)
        messages = [{"role": "system", "content": p.system},
                    {"role": "user", "content": p._trim(request, lines, files, recent)}]
        t_start = time.perf_counter()
        for attempt in range(1 + p.options.repair_attempts):
            prompt = self.client.render_chat(messages)
            say = _SayDecoder(on_say_sentence, first_clause_words) if (on_say_sentence is not None and attempt == 0) \
                else None
            first_say: list[float] = []

            def on_text(text: str) -> None:
                if say is not None:
                    before = len(say.emitted)
                    say.feed(text)
                    if len(say.emitted) > before and not first_say:
                        first_say.append((time.perf_counter() - t_start) * 1000)

            raw, stats = self.generate(prompt, self.client.options.max_plan_tokens, cancel, on_text)
            stats.first_say_ms = first_say[0] if first_say else None
            self.last_stats = stats
            try:
                plan = parse_plan(raw, p.registry, session, allowed_roots, p.options.max_steps)
                outcome.attempts.append(Attempt(raw, None, stats.elapsed_ms, stats.prompt_tokens,
                                                stats.completion_tokens, stats.prompt_tokens - stats.evaluated_tokens))
                outcome.plan = plan
                return outcome
            except PlanInvalid as exc:
                outcome.attempts.append(Attempt(raw, str(exc), stats.elapsed_ms, stats.prompt_tokens,
                                                stats.completion_tokens, stats.prompt_tokens - stats.evaluated_tokens))
                messages += [{"role": "assistant", "content": raw},
                             {"role": "user", "content": prompts.repair_prompt(exc.message)}]
        return outcome


def _llama():
    import llama_cpp

    return llama_cpp


def get_streaming_planner(planner: Planner) -> StreamingPlanner:
    """One StreamingPlanner per loaded planner (its candidate buffer is 1.8 MB)."""
    cached = getattr(planner, "_streaming", None)
    if cached is None:
        cached = StreamingPlanner(planner)
        planner._streaming = cached
    return cached
