"""llama.cpp through llama-cpp-python: load a GGUF from the store, compile grammars, complete chats.

The Llama object keeps the tokens it last evaluated and reuses the longest common prefix on the next
call, so a byte-identical system prompt (the tool list) is evaluated once per process. A new process
starts from evaluated states kept on disk (kv_states.py): the static prefix, saved once per prompt
version, and a session's context up to "Request:", saved by a one-shot `earshot ask` after its turn
(`keep`), so the next one evaluates only its request however long the session has grown.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import LlmOptions
from ..errors import EarshotError
from .compute_gate import GATE
from .greedy import GenerationCancelled, GreedyGrammarDecoder, PromptLookup, common_prefix
from .kv_states import CorruptState, KvStateStore, common_length

__all__ = ["Completion", "GenerationCancelled", "LlmClient", "get_llm"]

# Restoring a state from disk (~120 MB with the 1.5B model) costs about what evaluating this many tokens
# does on two cores; a stored state is loaded only when it covers this many more than the KV cache holds.
RESTORE_MIN_GAIN_TOKENS = 24

INSTALL_HINT = (
    "pip install llama-cpp-python (built from source: CMAKE_ARGS=\"-DGGML_NATIVE=OFF\"); ./install.sh does this"
)


def _import_llama():
    try:
        import llama_cpp
    except ImportError as exc:
        raise EarshotError("llama-cpp-python is not installed", INSTALL_HINT) from exc
    _quiet_llama_log(llama_cpp)
    return llama_cpp


_LOG_CALLBACK = None  # the installed llama.cpp log callback (kept referenced: C holds a pointer to it)


def _quiet_llama_log(llama_cpp) -> None:
    """llama.cpp logs through one process-wide callback; llama-cpp-python's prints warnings and the
    note every aborted decode leaves ("removing memory module entries") to stderr, which on the
    terminal tears through the TUI. Keep errors only, without that note: failures reach the user as
    exceptions with their own message anyway."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import sys

    @llama_cpp.llama_log_callback
    def log(level, text, _data):
        if level == 3 and b"removing memory module entries" not in text:  # GGML_LOG_LEVEL_ERROR
            sys.stderr.write(text.decode("utf-8", "replace"))

    _LOG_CALLBACK = log
    llama_cpp.llama_log_set(log, ctypes.c_void_p(0))


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    elapsed_ms: float
    cached_prompt_tokens: int  # tokens of the prompt that were already in the KV cache
    grammar_fallbacks: int = 0  # steps where the top token broke the grammar and the full filter ran
    drafted_tokens: int = 0  # prompt-lookup drafts verified (LlmOptions.prompt_lookup_tokens)
    accepted_tokens: int = 0  # ...of which greedy decoding chose the drafted token

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / max(self.elapsed_ms / 1000.0, 1e-6)


class DecodeAbort:
    r"""Stops a running llama_decode between two nodes of its graph, from another thread.

    A request's prompt is evaluated in one batch (greedy.py says why), which takes 1–2 s on two cores;
    a speculative plan the user talked over used to hold the model that long after it was cancelled,
    and the real request waited behind it. llama.cpp asks an abort callback before every graph node.
    That callback must not be Python: a ctypes callback takes the GIL ~650 times per decode, and the
    audio thread holds it often. So the callback is libc's `strlen` on a two-byte flag: b"\0\0"
    gives 0 (go on), b"\1\0" gives 1 (abort) — a C call that reads one byte. A watcher thread sets
    the flag when the caller's stop condition turns true; the aborted decode returns 2 and leaves
    llama-cpp-python's token count at the last finished batch, so the cached prefix stays exact.
    `watching` turns that abort into GenerationCancelled; any other llama.cpp failure passes through."""

    def __init__(self, llama_cpp, ctx) -> None:
        self._flag = ctypes.create_string_buffer(2)
        libc = ctypes.CDLL(None)
        self._callback = llama_cpp.ggml_abort_callback(ctypes.cast(libc.strlen, ctypes.c_void_p).value)
        llama_cpp.llama_set_abort_callback(ctx, self._callback, ctypes.cast(self._flag, ctypes.c_void_p))
        self.aborted = 0  # decodes stopped so far (tests, diagnostics)

    @property
    def fired(self) -> bool:
        return self._flag.raw[0] != 0

    def fire(self) -> None:
        self._flag[0] = b"\x01"

    @contextlib.contextmanager
    def watching(self, should_stop: Callable[[], bool], poll_s: float = 0.005):
        """Within the block, any decode stops within ~`poll_s` of `should_stop()` turning true, and the
        block raises GenerationCancelled (llama-cpp-python's RuntimeError for it is told from a real
        failure by the flag)."""
        self._flag[0] = b"\x00"
        done = threading.Event()

        def watch() -> None:
            while not done.wait(poll_s):
                if should_stop():
                    self.fire()
                    return

        watcher = threading.Thread(target=watch, name="earshot-llm-abort", daemon=True)
        watcher.start()
        try:
            yield self
        except RuntimeError as exc:
            if self.fired and "returned 2" in str(exc):
                self.aborted += 1
                raise GenerationCancelled() from None
            raise
        finally:
            done.set()
            watcher.join()
            self._flag[0] = b"\x00"


# Every loaded model, freed at exit while llama_cpp's module is still whole: left to the interpreter's final
# teardown, Llama.__del__ ran after its globals were gone and printed a TypeError traceback per model (at the
# end of every test-suite run).
_OPEN_CLIENTS: weakref.WeakSet[LlmClient] = weakref.WeakSet()


@atexit.register
def _close_open_clients() -> None:
    for client in list(_OPEN_CLIENTS):
        client.close(wait_s=0.5)


class LlmClient:
    """One loaded GGUF model. Calls are serialised: llama.cpp contexts are not thread-safe."""

    def __init__(self, model_path: Path, options: LlmOptions, cache_dir: Path | None = None) -> None:
        llama_cpp = _import_llama()
        self._llama_cpp = llama_cpp
        self.options = options
        self.model_path = Path(model_path)
        threads = options.threads or max(1, (os.cpu_count() or 2))
        # A CUDA build (CMAKE_ARGS="-DGGML_CUDA=on") offloads the configured layers; a CPU build gets 0.
        gpu_layers = options.gpu_layers if getattr(llama_cpp, "llama_supports_gpu_offload", lambda: False)() else 0
        t0 = time.perf_counter()
        try:
            self.llm = llama_cpp.Llama(
                model_path=str(self.model_path),
                n_ctx=options.context_tokens,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=gpu_layers,
                seed=options.seed,
                verbose=False,
            )
        except Exception as exc:
            raise EarshotError(
                f"llama.cpp could not load {self.model_path.name}: {exc}",
                "run `earshot models verify`; the file may be damaged",
            ) from exc
        self.load_ms = (time.perf_counter() - t0) * 1000
        self.cache_dir = cache_dir
        self.states = KvStateStore(cache_dir, self._identity(), options.session_states) if cache_dir else None
        self.restored: list[tuple[str, int]] = []  # (kind, tokens) of every state loaded from disk
        self._lock = threading.Lock()
        self._waiting = 0  # completions waiting for the lock: a running prefill gives way to them
        self._waiting_lock = threading.Lock()
        self._decoder: GreedyGrammarDecoder | None = None
        self.abort = DecodeAbort(llama_cpp, self.llm._ctx.ctx)
        self.yielded = 0  # prefill chunks stopped mid-decode for the speech path, then evaluated again
        _OPEN_CLIENTS.add(self)

    def close(self, wait_s: float = 5.0) -> bool:
        """Free the model and its context now; no call may follow. False when a call still held the model
        after `wait_s` (a daemon thread at exit): it is left to the process's end rather than freed under it."""
        if self.llm is None:
            return True
        if not self._lock.acquire(timeout=wait_s):
            return False
        try:
            llm, self.llm = self.llm, None
            _OPEN_CLIENTS.discard(self)
            if llm is not None:
                llm.close()
        finally:
            self._lock.release()
        return True

    # -- grammar ----------------------------------------------------------------------------
    @staticmethod
    def compile_grammar(gbnf: str):
        """Compile a GBNF grammar now, so a bad grammar is a start-up error, not a mid-turn one."""
        llama_cpp = _import_llama()
        try:
            return llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
        except Exception as exc:
            raise EarshotError(
                f"the plan grammar does not compile: {exc}",
                "this is a bug in the tool registry's schema; run `earshot tools --json`",
            ) from exc

    # -- tokens -----------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def render_chat(self, messages: list[dict]) -> str:
        """The exact prompt text the model's own chat template produces for these messages.

        Rendering it ourselves (instead of create_chat_completion) lets the planner keep the system
        part byte-identical across turns and count tokens before it sends anything."""
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        template = self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            raise EarshotError(f"{self.model_path.name} has no chat template", "use a chat/instruct GGUF model")
        bos_id, eos_id = self.llm.token_bos(), self.llm.token_eos()
        bos = self.llm._model.token_get_text(bos_id) if bos_id >= 0 else ""
        eos = self.llm._model.token_get_text(eos_id) if eos_id >= 0 else ""
        formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
        return formatter(messages=messages).prompt

    # -- completion -------------------------------------------------------------------------
    def complete(
        self,
        prompt: str,
        grammar,
        max_tokens: int,
        sampling: dict | None = None,
        *,
        cancel: threading.Event | None = None,
        on_text: Callable[[str], None] | None = None,
        opening: str = "",
    ) -> Completion:
        """Greedy by default (plans must be reproducible), through the fast top-token grammar check of
        greedy.py; `cancel` stops it within one token (raises GenerationCancelled) and `on_text` sees
        the text as it grows. `sampling` switches to llama.cpp's own sampler for writing tasks
        (compose: temperature, top_k, top_p, repeat_penalty, seed), where greedy decoding of a small
        model falls into repeating one token. `opening` is text every output starts with (the grammar
        allows nothing else): it is evaluated with the prompt in one batch instead of being decoded
        token by token, and the returned text includes it."""
        self._count_waiting(+1)
        try:
            self._lock.acquire()
        finally:
            self._count_waiting(-1)
        try:
            tokens = self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) + max_tokens > self.options.context_tokens:
                raise EarshotError(
                    f"the prompt has {len(tokens)} tokens; with {max_tokens} for the answer it "
                    f"exceeds the {self.options.context_tokens}-token context",
                    "raise llm.context_tokens or lower planner.history_token_budget",
                )
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled()
            t0 = time.perf_counter()
            self._restore(tokens)
            with self.abort.watching(lambda: cancel is not None and cancel.is_set()):
                if sampling:
                    cached = common_prefix(self.llm._input_ids.tolist()[: self.llm.n_tokens], tokens)
                    settings = {
                        "temperature": self.options.temperature,
                        "top_k": 1,
                        "seed": self.options.seed,
                        **sampling,
                    }
                    out = self.llm.create_completion(prompt=tokens, max_tokens=max_tokens, grammar=grammar, **settings)
                    usage = out.get("usage", {})
                    return Completion(
                        out["choices"][0]["text"],
                        usage.get("prompt_tokens", len(tokens)),
                        usage.get("completion_tokens", 0),
                        (time.perf_counter() - t0) * 1000,
                        cached,
                    )
                forced = self.llm.tokenize(opening.encode("utf-8"), add_bos=False, special=False) if opening else []
                evaluated = self.decoder.sync_prefix(tokens + forced, need_logits=True)
                lookup = PromptLookup(self.options.prompt_lookup_tokens) if self.options.prompt_lookup_tokens else None
                text, generated, fallbacks = self.decoder.generate(
                    grammar, max_tokens - len(forced), cancel, on_text, forced=forced, lookup=lookup
                )
        finally:
            self._lock.release()
        return Completion(
            text,
            len(tokens),
            generated,
            (time.perf_counter() - t0) * 1000,
            len(tokens) - evaluated,
            fallbacks,
            self.decoder.drafted,
            self.decoder.accepted,
        )

    def _count_waiting(self, step: int) -> None:
        with self._waiting_lock:
            self._waiting += step

    def prefill(self, text: str, cancel: threading.Event | None = None) -> int:
        """Evaluate `text` into the KV cache ahead of a request (the voice loop does this between turns
        and while the user speaks). Skipped, returning 0, when the model is busy with a real turn or
        the text would not fit the context."""
        if not self._lock.acquire(timeout=0.0 if cancel is not None else 5.0):
            return 0
        try:
            if cancel is not None and cancel.is_set():
                return 0
            tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) + 8 > self.options.context_tokens:
                return 0

            # A request that comes in meanwhile goes first: the prefill stops at its next chunk, and
            # what it evaluated so far is still a cached prefix for the request.
            def should_stop() -> bool:
                return self._waiting > 0 or (cancel is not None and cancel.is_set())

            self._restore(tokens)
            before = common_prefix(self.llm._input_ids.tolist()[: self.llm.n_tokens], tokens)
            # Between chunks it gives way by itself; inside one, the abort stops it — for good when a request
            # is waiting or the prefill is cancelled, and for the moment when the speech path takes the CPU
            # (compute_gate.py): the chunk it was in is evaluated again after the ASR pass. Deep in the prompt
            # a 16-token chunk takes hundreds of ms on two cores; traced in `earshot bench latency`, llama.cpp's
            # decode took ~a quarter of a core during the pause passes before this.
            while True:
                try:
                    with self.abort.watching(lambda: should_stop() or GATE.busy):
                        self.decoder.sync_prefix(tokens, need_logits=False, should_stop=should_stop)
                    break
                except GenerationCancelled:
                    if should_stop():
                        break
                    self.yielded += 1
                    GATE.wait_turn()
            return max(0, self.llm.n_tokens - before)  # what it finished, aborted chunks not counted
        finally:
            self._lock.release()

    @property
    def decoder(self) -> GreedyGrammarDecoder:
        if self._decoder is None:
            self._decoder = GreedyGrammarDecoder(self.llm)
        return self._decoder

    # -- evaluated states on disk (one-shot CLI runs) ---------------------------------------------
    def warm_prefix(self, prefix: str) -> str:
        """Have the stable prompt prefix evaluated: restored from disk when a state covers it (the most
        recently used such state: for a one-shot `ask` the session it continues), else evaluated once
        and saved. Returns "memory", "disk" or "evaluated" (for `earshot doctor` and benches)."""
        tokens = self.llm.tokenize(prefix.encode("utf-8"), add_bos=False, special=True)
        with self._lock:
            if self._held(tokens) == len(tokens):
                return "memory"
            if self._restore(tokens, min_gain=1) >= len(tokens):
                return "disk"
            held = self._held(tokens)
            self.llm.n_tokens = held
            self.llm.eval(tokens[held:])
            if self.states is not None:
                self._save(tokens, "prefix")
            return "evaluated"

    def keep(self, text: str, owner: str) -> int:
        """Evaluate `text` (a session's context, up to "Request:") and save its state for the next
        process of session `owner`; returns the tokens evaluated. A one-shot `earshot ask` calls it after
        its turn, while the reply is spoken. Does nothing when states are off (`llm.session_states` 0) or a
        stored state already covers all but a few of its tokens (a new session: the static prefix)."""
        if self.states is None or self.options.session_states <= 0:
            return 0
        with self._lock:
            tokens = self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
            if len(tokens) + 8 > self.options.context_tokens:
                return 0
            stored = self.states.best(tokens)
            if stored is not None and stored[1] + RESTORE_MIN_GAIN_TOKENS > len(tokens):
                return 0  # a stored state (the static prefix in a new session) covers nearly all of it
            self._restore(tokens)
            held = self._held(tokens)
            self.llm.n_tokens = held
            self.llm.eval(tokens[held:])  # in whole batches, as a request's prompt is (greedy.py)
            self._save(tokens, "session", owner)
            return len(tokens) - held

    def _held(self, tokens) -> int:
        """How many of `tokens` the KV cache already holds."""
        n = self.llm.n_tokens
        return common_length(self.llm.input_ids[:n], np.asarray(tokens, dtype=np.int32))

    def _restore(self, tokens, min_gain: int = RESTORE_MIN_GAIN_TOKENS) -> int:
        """Load the stored state sharing the longest prefix with `tokens` when it covers at least
        `min_gain` more of them than the KV cache holds; returns the tokens it covers (0: none loaded).
        The caller holds the lock. A state that fails its checks is deleted and the prompt evaluated."""
        if self.states is None:
            return 0
        ll = self.llm
        for _ in range(3):  # a damaged state is deleted and the next best one tried
            found = self.states.best(tokens)
            if found is None or found[1] < self._held(tokens) + min_gain:
                return 0
            state, common = found
            try:
                buf, offset = self.states.read(state)
                if state.n_tokens + 8 > self.options.context_tokens:
                    raise CorruptState(f"{state.path.name}: {state.n_tokens} tokens do not fit the context")
                ll._ctx.kv_cache_clear()
                ll.n_tokens = 0
                payload = (ctypes.c_uint8 * state.payload_bytes).from_buffer(buf, offset)
                if self._llama_cpp.llama_state_seq_set_data(ll._ctx.ctx, payload, state.payload_bytes, 0) == 0:
                    raise CorruptState(f"{state.path.name}: llama.cpp refused the state")
            except CorruptState:
                self.states.discard(state)
                ll._ctx.kv_cache_clear()
                ll.n_tokens = 0
                continue
            ll.input_ids[: state.n_tokens] = state.tokens
            ll.n_tokens = state.n_tokens
            self.restored.append((state.kind, state.n_tokens))
            return common
        return 0

    def _save(self, tokens: list[int], kind: str, owner: str = "") -> None:
        """Save the KV cache's state of exactly `tokens` (evaluated just before)."""
        ll, n = self.llm, len(tokens)
        ll._ctx.kv_cache_seq_rm(0, n, -1)  # whatever was evaluated after them (an earlier answer)
        ll.n_tokens = n
        size = self._llama_cpp.llama_state_seq_get_size(ll._ctx.ctx, 0)
        buf = (ctypes.c_uint8 * size)()
        written = self._llama_cpp.llama_state_seq_get_data(ll._ctx.ctx, buf, size, 0)
        try:
            self.states.write(tokens, memoryview(buf)[:written], kind, owner)
        except OSError:
            pass  # a full or read-only cache folder costs the next process time, never an answer

    def _identity(self) -> str:
        """What a state is valid for: these weights (the verified sha256 stamp identifies them without
        re-hashing), this llama.cpp build, this context size."""
        stamp = self.model_path.with_name(self.model_path.name + ".verified")
        weights = stamp.read_text().strip() if stamp.is_file() else f"{self.model_path.stat().st_size}"
        return (
            f"{weights}:{self.model_path.name}:llama-cpp-python {self._llama_cpp.__version__}:"
            f"n_ctx {self.options.context_tokens}:seq-state"
        )


def get_llm(config, model_name: str | None = None, store=None) -> LlmClient:
    """The process-wide client for a GGUF of the store: the planner and tools that write with the
    model (compose) share one loaded copy, since loading costs seconds and ~2 GB of RAM."""
    from .models import ModelStore, cached_model

    store = store or ModelStore(config.paths)
    name = model_name or config.models.llm
    entry = store.entry(name)
    if entry.role != "llm":
        raise EarshotError(f"{name} is not a language model", "pick one with role llm in `earshot models list`")
    path = store.path(name)
    return cached_model(
        f"llm:{path}:{config.llm.context_tokens}",
        lambda: LlmClient(path, config.llm, cache_dir=config.paths.cache_dir / "kv"),
    )
