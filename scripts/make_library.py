"""Generate a sample library with known ground truth (what `earshot bench library` and the tests use).

    python scripts/make_library.py DIR [--files 2000] [--seed 0]

sox chords (known key and tempo), fluidsynth-rendered MIDI loops (known instruments, tempo, key),
espeak-ng speech (known words), sox one-shots and ambience, clipped, silent and broken files; the
truth is written to DIR/ground-truth.json. See assistant/bench/library_corpus.py.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.bench.library_corpus import make_library  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    truth = make_library(args.dir, args.files, seed=args.seed, progress=lambda n, t: print(f"\r{n}/{t}", end=""))
    print()
    for category, n in sorted(Counter(t.category for t in truth).items()):
        print(f"{category}: {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
