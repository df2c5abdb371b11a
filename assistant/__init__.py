"""Earshot: a fully offline voice assistant for audio work.

Read `assistant/pipeline.py` first: it is the turn, top to bottom, and names where everything lives.
"""

import os as _os

# onnxruntime looks up a telemetry host and writes a telemetry database on import unless this is
# set before the first import anywhere in the process. "Nothing leaves the machine" needs it here,
# at the root of the package, so no import order can beat it.
_os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
# faster-whisper and transformers consult the hub unless told not to; nothing here ever downloads.
_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

__version__ = "0.1.0"
