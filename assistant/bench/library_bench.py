"""`earshot bench library`: the sample library's throughput, index size, query latency and answer quality.

On a generated library (bench/library_corpus.py, ≥ 2,000 files by default, made once and kept):

    add           `library add` of the whole library on the local pool (2 workers): files/s, rows, errors;
                  with --crash, a subprocess `earshot library add` is killed with SIGKILL mid-scan first
                  and the resumed scan must leave exactly one row per file
    throughput    the same first --sample files analysed by pool(1), pool(2) and Ray(2) (a local instance
                  on 127.0.0.1), each into a fresh index: files/s, and Ray's overhead as a ratio to the pool
    index         the index's size on disk, per row
    queries       the index scaled to 100,000 rows (rows copied under new paths, tempo and vectors jittered):
                  latency p50/p90 over ≥ 20 queries of every kind (key, tempo, words, tags, folder, similar)
    questions     ≥ 20 typed questions through the planner (default model) → find's arguments → the index:
                  precision and recall against the generator's ground truth
    projection    files/s on a cluster of N nodes, from the measured per-worker rate and per-task overhead

Figures are printed (and `--json`); nothing here asserts them.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..config import EarshotConfig
from .library_corpus import Truth, make_library

# (question, ground truth: Truth → relevant?). None of these is a test's or the routing set's phrasing.
QUESTIONS: list[tuple[str, object]] = [
    ("find the takes in D minor", lambda t: t.key == "D minor"),
    ("which loops are in A major?", lambda t: t.key == "A major"),
    ("show me the files in F sharp minor", lambda t: t.key == "F# minor"),
    ("list the recordings in G minor", lambda t: t.key == "G minor"),
    ("find the ideas in B flat major", lambda t: t.key == "Bb major"),
    ("which recordings clip?", lambda t: t.clipping),
    ("find the files that are clipping", lambda t: t.clipping),
    ("find the silent files", lambda t: t.silent),
    ("the interviews where someone says budget", lambda t: "budget" in t.words),
    ("which recordings mention the festival?", lambda t: "festival" in t.words),
    ("find clips where somebody talks about the weather", lambda t: "weather" in t.words),
    ("find the files where someone says contract", lambda t: "contract" in t.words),
    ("which takes mention the orchestra?", lambda t: "orchestra" in t.words),
    ("find the recordings where someone talks about marketing", lambda t: "marketing" in t.words),
    ("find takes around 120 bpm", lambda t: t.tempo_bpm is not None and abs(t.tempo_bpm - 120) <= 2),
    ("find the loops at 128 bpm", lambda t: t.tempo_bpm is not None and abs(t.tempo_bpm - 128) <= 2),
    ("show me the samples around 95 bpm", lambda t: t.tempo_bpm is not None and abs(t.tempo_bpm - 95) <= 2),
    ("find loops between 100 and 110 bpm", lambda t: t.tempo_bpm is not None and 100 <= t.tempo_bpm <= 110),
    ("find the takes in C major around 130 bpm", lambda t: t.key == "C major" and abs(t.tempo_bpm - 130) <= 2),
    ("which files are speech?", lambda t: t.speech),
    ("find the recordings in the field-recordings folder", lambda t: t.path.startswith("field-recordings/")),
    ("find the drum loops", lambda t: t.instrument == "drums"),
    ("find the bass lines", lambda t: t.instrument == "bass"),
]
SIMILAR_K = 10


def _rate(report) -> float:
    return report.analysed / report.analyse_s if report.analyse_s else 0.0


def _factory(config: EarshotConfig):
    from ..audio_models.library_analysis import analyser_factory

    return analyser_factory(config)


def crash_and_resume(config: EarshotConfig, root: Path, index_path: Path, kill_after_rows: int) -> dict:
    """`earshot library add` in a subprocess, SIGKILLed after `kill_after_rows` rows; then `add` again."""
    from ..library.backends import ProcessPoolBackend
    from ..library.index import LibraryIndex
    from ..library.scan import scan

    env = {**os.environ, "EARSHOT_HOME": str(index_path.parent), "EARSHOT_MODELS": str(config.paths.models_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistant", "library", "add", str(root), "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = 0
    while proc.poll() is None and rows < kill_after_rows:
        time.sleep(0.5)
        if index_path.is_file():
            try:
                c = sqlite3.connect(index_path, timeout=5)
                rows = c.execute("SELECT COUNT(*) FROM files").fetchone()[0]
                c.close()
            except sqlite3.OperationalError:
                pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(2)  # orphaned pool workers exit when their task pipe closes
    index = LibraryIndex(index_path)
    kept = index.count()
    report = scan(index, root, lambda: ProcessPoolBackend(_factory(config), config.library.workers))
    rows_after = index.count()
    distinct = index.db.execute("SELECT COUNT(DISTINCT path) FROM files").fetchone()[0]
    index.close()
    return {
        "killed_at_rows": kept,
        "resumed_analysed": report.analysed,
        "resumed_unchanged": report.unchanged,
        "rows": rows_after,
        "distinct_paths": distinct,
        "files": report.files,
        "one_row_per_file": rows_after == distinct == report.files,
        "files_per_s": round(_rate(report), 3),
    }


def throughput(config: EarshotConfig, root: Path, sample: int, work: Path) -> dict:
    """pool(1), pool(2), ray(2) on the same `sample` files, each into a fresh index."""
    from ..library.backends import ProcessPoolBackend, RayBackend
    from ..library.index import LibraryIndex
    from ..library.scan import audio_files, scan

    subset = work / "sample"
    if subset.exists():
        shutil.rmtree(subset)
    everything = audio_files(root)
    step = max(1, len(everything) // sample)
    for f in everything[::step][:sample]:  # spread over the folders, not the first folder in path order
        dest = subset / f.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(f, dest)
    factory = _factory(config)
    out: dict = {"files": sample}
    runs = {
        "pool_1": lambda: ProcessPoolBackend(factory, 1),
        "pool_2": lambda: ProcessPoolBackend(factory, 2),
        "ray_2": lambda: RayBackend(factory, 2),
    }
    for name, make in runs.items():
        index = LibraryIndex(work / f"{name}.db")
        try:
            report = scan(index, subset, make)
        except Exception as exc:  # Ray missing: say so, measure the rest
            out[name] = {"error": str(exc)}
            continue
        finally:
            index.close()
        out[name] = {"files_per_s": round(_rate(report), 3), "seconds": round(report.analyse_s, 2)}
    if "seconds" in out.get("ray_2", {}) and "seconds" in out.get("pool_2", {}):
        t_ray, t_pool = out["ray_2"]["seconds"], out["pool_2"]["seconds"]
        out["ray_overhead_ratio"] = round(t_ray / t_pool, 3)
        out["ray_overhead_per_task_ms"] = round(1000 * (t_ray - t_pool) * 2 / sample, 1)
    return out


def scale_index(src: Path, dest: Path, rows: int, seed: int = 0) -> None:
    """A copy of the index grown to `rows` rows: existing rows again under new paths, tempo ±1 BPM and
    vectors jittered, so queries see a realistic spread of values."""
    a, b = sqlite3.connect(src), sqlite3.connect(dest)
    a.backup(b)
    a.close()
    rng = np.random.default_rng(seed)
    base = b.execute("SELECT * FROM files WHERE status='ok'").fetchall()
    cols = [d[0] for d in b.execute("SELECT * FROM files LIMIT 1").description]
    have = b.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    i = 0
    b.execute("BEGIN")
    while have < rows:
        r = dict(zip(cols, base[i % len(base)]))
        r.pop("id")
        r["path"] = f"{r['root']}/scaled-{have}/{r['name']}"
        r["folder"] = f"scaled-{have // 1000}/{r['folder']}"
        if r["tempo_bpm"] is not None:
            r["tempo_bpm"] = round(r["tempo_bpm"] + float(rng.uniform(-1, 1)), 1)
        if r["vector"] is not None:
            v = np.frombuffer(r["vector"], np.float32)
            r["vector"] = (v * (1 + 0.02 * rng.standard_normal(v.shape))).astype(np.float32).tobytes()
        b.execute(f"INSERT INTO files({', '.join(r)}) VALUES ({', '.join('?' * len(r))})", list(r.values()))
        have += 1
        i += 1
    b.execute("COMMIT")
    b.close()


def query_latency(index_path: Path, root: Path, repeats: int = 3) -> dict:
    from ..library.index import LibraryIndex
    from ..library.query import Query, count_query, run_query

    index = LibraryIndex(index_path)
    row = index.db.execute(
        "SELECT path FROM files WHERE folder='one-shots' AND vector IS NOT NULL AND path NOT LIKE '%/scaled-%' "
        "ORDER BY path LIMIT 1"
    ).fetchone()
    kick = Path(row[0]) if row else None
    queries = [
        Query(key="D minor"),
        Query(key="F#"),
        Query(key="minor", tempo_bpm=120),
        Query(tempo_bpm=128, tempo_tolerance_bpm=2),
        Query(tempo_min_bpm=100, tempo_max_bpm=110),
        Query(has_clipping=True),
        Query(silent=True),
        Query(has_speech=True),
        Query(has_music=True, tag="drums"),
        Query(tag="bass"),
        Query(words="budget"),
        Query(words="festival"),
        Query(words="weather contract"),
        Query(words="microphone", folder="interviews"),
        Query(folder="field-recordings"),
        Query(min_duration_s=5, max_duration_s=6),
        Query(max_lufs=-30),
        Query(key="C major", tempo_min_bpm=125, tempo_max_bpm=135),
        Query(name="idea-00"),
        Query(tag="sustained", has_music=True, min_duration_s=4),
    ]
    if kick is not None:
        queries += [Query(similar_to=kick), Query(similar_to=kick, folder="one-shots")]
    times, counts, cpu = [], [], []  # wall and CPU time (the CPU time says what a loaded machine hides)
    for _ in range(repeats):
        for q in queries:
            # what find does for an answer: the count, and the first 50 matches, best first
            t, c = time.perf_counter(), time.process_time()
            counts.append(count_query(index, q))
            run_query(index, q, limit=50)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
    rows = index.count()
    index.close()
    return {
        "rows": rows,
        "queries": len(queries),
        "runs": len(times),
        "p50_ms": round(float(np.percentile(times, 50)), 2),
        "p90_ms": round(float(np.percentile(times, 90)), 2),
        "max_ms": round(max(times), 2),
        "cpu_p50_ms": round(float(np.percentile(cpu, 50)), 2),
        "cpu_p90_ms": round(float(np.percentile(cpu, 90)), 2),
    }


def ask_questions(config: EarshotConfig, root: Path, index_path: Path, truth: list[Truth], llm: str | None) -> dict:
    """Each question planned as the product plans it (the command path, else the LLM), run on the index,
    scored on the ground truth."""
    from ..audio_models import find
    from ..audio_models.registry import default_registry
    from ..library.index import LibraryIndex
    from ..library.query import run_query
    from ..llm.commands import command_path
    from ..llm.plan import build_args, resolve_ref
    from ..llm.planner import load_planner
    from ..runtime.models import ModelStore
    from ..store.session import SessionStore

    home = Path(tempfile.mkdtemp(prefix="earshot-libq-"))
    store = SessionStore(home / "earshot.db")
    session = store.create_session(home / "workspace")
    registry = default_registry()
    planner = load_planner(config, registry, llm, ModelStore(config.paths))
    planner.warm()
    roots = (root.resolve(),)
    index = LibraryIndex(index_path)
    # Scored on the files the index holds (all of them after a complete add).
    indexed = set(index.paths(root.resolve()))
    by_path = {p: t for t in truth if (p := str((root / t.path).resolve())) in indexed}
    results = []
    for question, pred in QUESTIONS:
        relevant = {p for p, t in by_path.items() if pred(t) and not (t.key_ambiguous and "key" in question)}
        t0 = time.perf_counter()
        outcome = command_path(registry).plan(question, session, roots) or planner.plan(question, session, roots)
        plan_ms = (time.perf_counter() - t0) * 1000
        row = {"question": question, "relevant": len(relevant), "plan_ms": round(plan_ms), "planner": outcome.planner}
        plan = outcome.plan
        steps = plan.steps if plan else ()
        if not steps or steps[0].tool != "find":
            row.update(precision=0.0, recall=0.0, found=0, plan=[s.tool for s in steps] or "no plan")
            results.append(row)
            continue
        args = build_args(
            registry.get("find"),
            dict(steps[0].args),
            lambda ref, want="file": resolve_ref(ref, session, roots, 1, {}, config.limits),
        )
        row["args"] = steps[0].args
        found = [m.path for m in run_query(index, find.query_from(args, None))]
        hits = len(set(found) & relevant)
        row.update(
            found=len(found),
            precision=round(hits / len(found), 3) if found else (1.0 if not relevant else 0.0),
            recall=round(hits / len(relevant), 3) if relevant else 1.0,
        )
        results.append(row)
    # "sounds like this kick": precision of the 10 nearest neighbours (every kick is relevant)
    kicks = sorted(p for p, t in by_path.items() if t.instrument == "kick")
    sim = {}
    if kicks:
        from ..library.query import Query

        near = [m.path for m in run_query(index, Query(similar_to=Path(kicks[0])), limit=SIMILAR_K)]
        sim = {
            "question": f"find sounds like {Path(kicks[0]).name} (a kick)",
            f"precision_at_{SIMILAR_K}": round(len(set(near) & set(kicks)) / max(1, len(near)), 3),
        }
    index.close()
    store.close()
    shutil.rmtree(home, ignore_errors=True)
    good = [r for r in results if r["precision"] >= 0.9 and r["recall"] >= 0.9]
    return {
        "scored_files": len(by_path),
        "questions": results,
        "asked": len(results),
        "at_least_0_9": len(good),
        "mean_precision": round(statistics.mean(r["precision"] for r in results), 3),
        "mean_recall": round(statistics.mean(r["recall"] for r in results), 3),
        "similar": sim,
    }


def run_library_bench(
    config: EarshotConfig,
    files: int = 2000,
    sample: int = 200,
    root: Path | None = None,
    crash: bool = True,
    questions: bool = True,
    llm: str | None = None,
    scale_rows: int = 100_000,
    progress: bool = True,
    seed: int = 0,
    index: Path | None = None,
) -> dict:
    def say(msg: str) -> None:
        if progress:
            print(f"… {msg}", file=sys.stderr, flush=True)

    from ..library.backends import ProcessPoolBackend
    from ..library.index import LibraryIndex
    from ..library.scan import scan

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    root = Path(root or config.paths.cache_dir / f"library-bench-{files}").resolve()
    work = Path(tempfile.mkdtemp(prefix="earshot-libbench-"))
    load = os.getloadavg()
    out: dict = {"library": str(root), "files": files, "load_avg_start": [round(x, 2) for x in load]}
    try:
        say(f"generating {files} files in {root} (kept for the next run)")
        t = time.perf_counter()
        truth = make_library(root, files, seed=seed)
        out["generate_s"] = round(time.perf_counter() - t, 1)
        index_path = work / "full" / "library.db"
        index_path.parent.mkdir()
        if index is not None:
            say(f"using the index {index} (a copy): no full add in this run")
            src, dst = sqlite3.connect(index), sqlite3.connect(index_path)
            src.backup(dst)
            src.close()
            dst.close()
            rows = LibraryIndex(index_path)
            out["add"] = {"rows": rows.count(), "files_per_s": None, "from_index": str(index)}
            rows.close()
        elif crash:
            say("library add on the whole library (killed mid-scan, then resumed)")
            out["add"] = crash_and_resume(config, root, index_path, kill_after_rows=max(10, files // 10))
        else:
            say("library add on the whole library")
            full = LibraryIndex(index_path)
            report = scan(full, root, lambda: ProcessPoolBackend(_factory(config), config.library.workers))
            out["add"] = {"rows": full.count(), "files_per_s": round(_rate(report), 3), "errors": report.errors}
            full.close()
        size = sum(p.stat().st_size for p in index_path.parent.glob("library.db*"))
        out["index"] = {"bytes": size, "bytes_per_row": round(size / max(1, out["add"]["rows"]))}
        say(f"throughput on {sample} files: pool(1), pool(2), ray(2)")
        out["throughput"] = throughput(config, root, sample, work)
        say(f"query latency on the index scaled to {scale_rows} rows")
        scaled = work / "scaled.db"
        scale_index(index_path, scaled, scale_rows)
        out["queries"] = query_latency(scaled, root)
        out["queries"]["index_bytes"] = scaled.stat().st_size
        tp = out["throughput"]
        if "files_per_s" in tp.get("ray_2", {}):
            per_worker = tp["ray_2"]["files_per_s"] / 2
            out["projection"] = {
                "per_worker_files_per_s": round(per_worker, 3),
                "nodes_2_cores": {n: round(per_worker * 2 * n, 1) for n in (1, 4, 16)},
                "assumes": "every node like this one (2 cores, 2 actors), CPU-bound analysis, the audio on a shared "
                "folder fast enough for all nodes, the driver's SQLite writes (thousands of rows/s) never the "
                "limit, the measured Ray overhead per task unchanged on a network (a LAN adds ~1 ms a task)",
            }
        if questions:
            say(f"{len(QUESTIONS)} typed questions through the planner")
            out["questions"] = ask_questions(config, root, index_path, truth, llm)
        out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
        return out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_result(r: dict) -> None:
    print(f"library: {r['files']} generated files in {r['library']} (load {r['load_avg_start']})")
    a = r["add"]
    print(f"add: {a['rows']} rows, {a.get('files_per_s')} files/s" + (
        f"; killed at {a['killed_at_rows']} rows, resumed: one row per file = {a['one_row_per_file']}"
        if "killed_at_rows" in a else ""
    ))  # fmt: skip
    print(f"index: {r['index']['bytes'] / 1e6:.1f} MB ({r['index']['bytes_per_row']} B a row)")
    tp = r["throughput"]
    for k in ("pool_1", "pool_2", "ray_2"):
        print(f"{k}: {tp.get(k)}")
    if "ray_overhead_ratio" in tp:
        print(f"Ray overhead: {tp['ray_overhead_ratio']}x the pool's time ({tp['ray_overhead_per_task_ms']} ms a task)")
    q = r["queries"]
    print(
        f"queries on {q['rows']} rows: p50 {q['p50_ms']} ms, p90 {q['p90_ms']} ms ({q['runs']} runs; CPU time "
        f"p50 {q['cpu_p50_ms']} ms, p90 {q['cpu_p90_ms']} ms)"
    )
    if "projection" in r:
        print(f"projection: {r['projection']}")
    if "questions" in r:
        qs = r["questions"]
        for row in qs["questions"]:
            how = row.get("args", row.get("plan"))
            print(f"  P {row['precision']:.2f} R {row['recall']:.2f}  {row['question']}  {how}")
        print(f"questions: {qs['at_least_0_9']}/{qs['asked']} with P and R ≥ 0.9; similar: {qs['similar']}")
