"""The status line: session, model loading progress, active models and the device they run on."""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static


class StatusLine(Horizontal):
    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.models_text = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="status-models")
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="status-progress")
        yield Static("", id="status-session")

    def set_models(self, text: str, loading: bool, fraction: float | None = None, error: bool = False) -> None:
        self.models_text = text
        self.query_one("#status-models", Static).update(escape(text))
        bar = self.query_one(ProgressBar)
        bar.display = loading
        if loading and fraction is not None:
            bar.update(total=100, progress=round(fraction * 100))
        self.set_class(error, "error")

    def set_session(self, text: str) -> None:
        self.query_one("#status-session", Static).update(escape(text))


def inference_device(config) -> str:
    """Where inference runs: GPU if llama.cpp offloads layers or ONNX Runtime has CUDA, else CPU."""
    gpu = False
    try:
        import llama_cpp

        # gpu_layers is -1 ("all") by default; only a GPU build of llama.cpp offloads anything.
        gpu = config.llm.gpu_layers != 0 and bool(llama_cpp.llama_supports_gpu_offload())
    except Exception:
        pass
    try:
        import onnxruntime

        gpu = gpu or "CUDAExecutionProvider" in onnxruntime.get_available_providers()
    except Exception:
        pass
    return "GPU" if gpu else "CPU"
