"""The one file hash of the package: sha256, read in blocks, with optional byte progress.

Artifacts record it (provenance), the model store and the exported ONNX files are pinned by it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path


def sha256_of(path: Path, progress: Callable[[int], None] | None = None, block_bytes: int = 1 << 22) -> str:
    """Hex sha256 of a file; `progress(n)` after every block read (for a progress bar)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(block_bytes):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()
