"""The sample library: a whole folder tree of audio analysed once and remembered.

    index.py        the library index (SQLite, WAL, one row per file, FTS5 over transcripts)
    scan.py         walk a folder, fingerprint (size + mtime, then sha256), analyse what changed,
                    write each row as it arrives: incremental, resumable after kill -9, cancellable
    backends.py     where the per-file analysis runs: a local process pool (default) or Ray tasks
                    on an actor pool (`earshot[cluster]`), models loaded once per worker
    descriptors.py  the descriptor vector of a file ("sounds like this"): MFCC, chroma and
                    spectral statistics — signal processing, not a learned embedding
    query.py        finding files: key, tempo, duration, loudness, tags, transcript words,
                    folder, nearest neighbours

The analysis itself (tag, detect, transcribe) lives with the tools in audio_models/; the scanner
takes it as a function, so this package sits below the tools that query it (find, batch).
"""
