"""`earshot library add DIR | status | list | remove DIR`: the sample library's index.

`add` scans a folder recursively and analyses every new or changed file (tag, detect, transcribe,
descriptors) on a local process pool, or on Ray with `--ray` / `--ray-address`; a progress bar with
an ETA runs on stderr, Ctrl+C stops it and keeps every row written. Re-running `add` does only
what changed.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from ..errors import EarshotError
from .common import config_for, print_json


def backend_maker(factory, workers: int, ray: bool = False, ray_address: str = "", ship_audio: bool = False):
    from ..library.backends import ProcessPoolBackend, RayBackend

    if ray or ray_address:
        return lambda: RayBackend(factory, workers, address=ray_address or None, ship_audio=ship_audio)
    return lambda: ProcessPoolBackend(factory, workers)


def run(args) -> int:
    from ..library.index import LibraryIndex

    config = config_for(args)
    index = LibraryIndex(config.paths.library_path)
    try:
        return {"add": _add, "status": _status, "list": _list, "remove": _remove}[args.library_command](
            args, config, index
        )
    finally:
        index.close()


def _add(args, config, index) -> int:
    from ..audio_models.library_analysis import analyser_factory
    from ..library.scan import scan

    folder = Path(args.dir).expanduser()
    workers = args.workers or config.library.workers
    factory = analyser_factory(config, transcribe=False if args.no_transcribe else None)
    make = backend_maker(factory, workers, args.ray, args.ray_address or "", args.ship_audio)
    cancel = threading.Event()
    if args.json:
        last = [0.0]

        def on_progress(p) -> None:
            if p.done == p.total or p.elapsed_s - last[0] >= 1.0:
                last[0] = p.elapsed_s
                eta = None if p.eta_s is None else round(p.eta_s, 1)
                print(json.dumps({"type": "library_progress", "done": p.done, "total": p.total, "eta_s": eta}))
                sys.stdout.flush()

        try:
            report = scan(index, folder, make, on_progress=on_progress, cancel=cancel)
        except KeyboardInterrupt:
            print(json.dumps({"type": "library_cancelled", "rows": index.count(folder.resolve())}), flush=True)
            return 130
        print(json.dumps({"type": "library_added", **report.to_json(), "rows": index.count(folder.resolve())}))
        return 0
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from .common import progress_console

    console = progress_console()
    with Progress(
        TextColumn("analysing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files · ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[errors]} unreadable"),
        console=console,
        transient=False,
    ) as bar:
        task = bar.add_task("scan", total=None, errors=0)

        def on_progress(p) -> None:
            bar.update(task, completed=p.done, total=p.total, errors=p.errors)

        try:
            report = scan(index, folder, make, on_progress=on_progress, cancel=cancel)
        except KeyboardInterrupt:
            console.print(
                f"[yellow]cancelled[/]: {index.count(folder.resolve())} rows kept; `earshot library add` again resumes"
            )
            return 130
    rows = index.count(Path(report.root))
    console.print(
        f"{report.root}: {report.files} audio files, {rows} rows · analysed {report.analysed}"
        + (f" ({report.files_per_s:.2f} files/s on {report.backend}({report.workers}))" if report.analysed else "")
        + f", unchanged {report.unchanged}, changed but same content {report.touched}, copied from a moved file"
        f" {report.moved}, removed {report.removed}, unreadable {report.errors}"
    )
    return 0


def _status(args, config, index) -> int:
    status = index.status()
    if args.json:
        print_json({"index": str(index.path), "roots": status, "rows": index.count()})
        return 0
    if not status:
        print("The library is empty: `earshot library add DIR` adds a folder.")
        return 0
    for s in status:
        print(f"{s['root']}: {s['files']} files ({s['errors']} unreadable), {s['audio_hours']:.2f} h of audio")
    print(f"index: {index.path}")
    return 0


def _list(args, config, index) -> int:
    from ..library.query import Query, run_query

    q = Query(folder=args.folder or "", include_errors=True)
    matches = run_query(index, q)
    if args.errors:
        rows = [index.row(m.path) for m in matches]
        matches = [m for m, r in zip(matches, rows) if r and r.analysis.status != "ok"]
    matches = matches[: args.limit] if args.limit else matches
    if args.json:
        out = []
        for m in matches:
            row = index.row(m.path)
            out.append({"path": m.path, "sha256": row.sha256, **row.facts()})
        print_json(out)
        return 0
    for m in matches:
        row = index.row(m.path)
        detail = row.analysis.error if row.analysis.status != "ok" else m.summary
        print(f"{m.path}  {detail}")
    return 0


def _remove(args, config, index) -> int:
    root = Path(args.dir).expanduser().resolve()
    if root not in index.roots():
        raise EarshotError(f"{root} is not in the library", "`earshot library status` lists its folders")
    n = index.remove_root(root)
    print(f"Removed {root} from the library ({n} rows); the files themselves are untouched.")
    return 0
