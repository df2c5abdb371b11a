"""Issue 16, item 1: every tool that takes a file, on every file of the hostile corpus, through the real
executor. Each run either works or fails with a one-line error that says what happened and what to do;
no traceback reaches the user; no input changes; no half-written artifact is registered (a failed run
registers none); the session and its project still load afterwards.

The corpus (tests/corpus/make_corpus.py) is generated here, in a temporary workspace. The duration
limit is set to LIMIT_S for this matrix so that "just under the limit" is a 10-second file every tool
can afford (the default 30-minute limit is what the 3-hour file is over as well; long inputs have
their own test in test_limits.py).
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import time
import typing
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields, replace
from pathlib import Path

import pytest
import soundfile as sf

from assistant.audio_models.registry import default_registry
from assistant.config import AudioLimits, EarshotConfig, PathOptions
from assistant.errors import EarshotError
from assistant.executor import Executor
from assistant.llm.plan import Plan, Step
from assistant.project import Project
from assistant.reply import compose
from assistant.runtime.models import ModelStore
from assistant.store.hashing import sha256_of
from assistant.store.session import SessionStore
from tests.conftest import REAL_MODELS_DIR, require_models
from tests.corpus.make_corpus import build, tone, wav_bytes

pytestmark = pytest.mark.integration
LIMIT_S = 10.0
GOOD = "good.wav"  # a clean file for the other argument of two-file tools

# Every tool whose Args has an Artifact field, and the field: the other arguments make a valid request.
MATRIX: dict[tuple[str, str], dict] = {
    ("transcribe", "file"): {},
    ("denoise", "file"): {},
    ("describe", "file"): {},
    ("edit", "file"): {"op": "gain", "gain_db": 3},
    ("edit", "others"): {"op": "mix", "file": GOOD},
    ("separate", "file"): {},
    ("extract", "file"): {"query": "0:00 to 0:01"},
    ("detect", "file"): {},
    ("tag", "file"): {},
    ("to_midi", "file"): {},
    ("caption", "file"): {},
    ("effects", "file"): {"chain": "highpass 100, reverb 0.3"},
    ("inpaint", "file"): {"start_s": 0.1, "end_s": 0.15},
    ("binaural", "file"): {},
    ("convert_voice", "file"): {"style": "deeper"},
    ("convert_voice", "reference"): {"style": "match", "file": GOOD},
    ("translate_speech", "file"): {},
    ("pitch", "file"): {},
    ("image_to_audio", "file"): {},
    ("clip", "file"): {"op": "place", "track": "matrix"},
    ("open_project", "file"): {},
    ("find", "similar_to"): {},  # "sounds like this file": the file is analysed, then the library searched
}


def test_the_matrix_covers_every_tool_that_takes_a_file():
    from assistant.store.session import Artifact

    takes_file = set()
    for tool in default_registry():
        hints = typing.get_type_hints(tool.args_type)
        takes_file |= {(tool.name, f.name) for f in fields(tool.args_type) if "Artifact" in str(hints[f.name])}
    assert takes_file == set(MATRIX), takes_file ^ set(MATRIX)
    assert Artifact  # (the type the check looks for)


@contextmanager
def without_file_permission_override():
    """Root reads any file: for the unreadable case, drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from
    this thread's effective set (threads it starts inherit that), and give them back afterwards."""
    if os.geteuid() != 0:
        yield
        return

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    libc = ctypes.CDLL(None, use_errno=True)
    header, data = Header(0x20080522, 0), (Data * 2)()
    assert libc.capget(ctypes.byref(header), data) == 0
    saved = data[0].effective
    data[0].effective &= ~((1 << 1) | (1 << 2))
    assert libc.capset(ctypes.byref(header), data) == 0
    try:
        yield
    finally:
        data[0].effective = saved
        assert libc.capset(ctypes.byref(header), data) == 0


@dataclass
class Outcome:
    tool: str
    field: str
    case: str
    status: str
    error: str | None
    seconds: float


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    require_models("whisper-tiny.en", "whisper-base", "deepfilternet3", "basic-pitch", "hibari-heart")
    root = tmp_path_factory.mktemp("corpus")
    workspace, outside = root / "workspace", root / "outside"
    cases = build(workspace, outside, LIMIT_S)
    (workspace / GOOD).write_bytes(wav_bytes(tone(0.5), 16_000))
    unreadable = workspace / "unreadable.wav"
    hashes = {c.name: _digest(workspace / c.name) for c in cases}
    unreadable.chmod(0)
    home = root / "home"
    config = EarshotConfig(paths=PathOptions(home_dir=home, models_dir=REAL_MODELS_DIR))
    config = replace(config, limits=AudioLimits(max_duration_s=LIMIT_S))
    store = SessionStore(config.paths.database_path)
    executor = Executor(default_registry(), config, ModelStore(config.paths))
    outcomes: list[Outcome] = []
    yield {
        "cases": cases,
        "workspace": workspace,
        "hashes": hashes,
        "config": config,
        "store": store,
        "executor": executor,
        "outcomes": outcomes,
    }
    store.close()
    unreadable.chmod(0o644)


def _digest(path: Path) -> str | None:
    if path.is_dir():
        return None
    return sha256_of(path.resolve())


def _check_one_line(err: str | None, where: str) -> None:
    assert err, f"{where}: failed without an error message"
    assert "\n" not in err and "\r" not in err, f"{where}: the error is not one line: {err!r}"
    assert "Traceback" not in err and 'File "' not in err, f"{where}: a traceback reached the user: {err!r}"
    assert " crashed: " not in err, f"{where}: an unexpected exception (a bug), not a clear error: {err}"
    assert " — " in err, f"{where}: the error does not say what to do: {err!r}"


@pytest.mark.parametrize("tool,field", list(MATRIX), ids=[f"{t}.{f}" for t, f in MATRIX])
def test_tool_on_every_hostile_file(rig, tool, field):
    store, executor, workspace = rig["store"], rig["executor"], rig["workspace"]
    registry = default_registry()
    session = store.create_session(workspace)
    for case in rig["cases"]:
        args = dict(MATRIX[(tool, field)])
        args[field] = [case.name] if field == "others" else case.name
        plan = Plan((Step(tool, args),), None, json.dumps(args))
        turn = session.begin_turn(f"{tool} on {case.name}")
        before = {a.num for a in session.artifacts()}
        events = []
        started = time.monotonic()
        guard = without_file_permission_override() if case.name == "unreadable.wav" else nullcontext()
        with guard:
            report = asyncio.run(executor.run(plan, session, turn, events.append))
        where = f"{tool}.{field} on {case.name!r}"
        (record,) = report.steps
        finished = [e for e in events if type(e).__name__ == "ToolFinished"]
        assert len(finished) == 1, where
        for event in events:
            assert "Traceback (most recent call last)" not in repr(event), f"{where}: {event!r}"
        run_id = session.tool_runs(turn)[0]["id"]
        if record.status == "ok":
            assert finished[0].error is None
        else:
            assert record.status == "failed", f"{where}: {record.status}: {record.error}"
            assert isinstance(record.error, EarshotError)
            _check_one_line(finished[0].error, where)
            reply = compose(plan, report, registry).text
            line = f"Step 1 ({tool}) failed: {record.error.message} — {record.error.hint}"
            assert line in reply.splitlines(), f"{where}: the reply does not show the error on one line:\n{reply}"
            produced = session.db.execute("SELECT COUNT(*) FROM artifacts WHERE tool_run_id=?", (run_id,)).fetchone()
            assert produced[0] == 0, f"{where}: a failed run registered {produced[0]} artifact(s)"
        for a in session.artifacts():
            if a.num in before:
                continue
            assert a.path.is_file(), f"{where}: {a.ref} is registered but {a.path} is missing"
            assert sha256_of(a.path) == a.sha256, f"{where}: {a.ref} changed after it was registered"
            if a.kind == "audio":
                assert sf.info(str(a.path)).frames > 0, f"{where}: {a.ref} has no samples"
        assert not [p.name for p in workspace.iterdir() if p.name.startswith(".partial-")], where
        session.end_turn(turn, "ok" if report.ok else "failed")
        rig["outcomes"].append(
            Outcome(tool, field, case.name, record.status, finished[0].error, time.monotonic() - started)
        )
    # no input changed
    for case in rig["cases"]:
        assert _digest(workspace / case.name) == rig["hashes"][case.name], f"{tool}: {case.name!r} was changed"
    # the session and its project still load, from a fresh connection
    again = SessionStore(rig["config"].paths.database_path)
    try:
        reopened = again.open_session(session.id)
        assert len(reopened.turns()) == len(rig["cases"])
        assert all(a.path.exists() for a in reopened.artifacts())
        project = Project(reopened)
        if project.exists:
            project.state()
    finally:
        again.close()


def test_matrix_figures(rig, capsys):
    """The figures of the issue: pairs run, one-line errors or results, inputs changed, half-artifacts."""
    outcomes = rig["outcomes"]
    if len(outcomes) < len(MATRIX) * len(rig["cases"]):
        pytest.skip("run with the whole matrix to get its figures")
    ok = sum(o.status == "ok" for o in outcomes)
    by_tool: dict[str, list[Outcome]] = {}
    for o in outcomes:
        by_tool.setdefault(f"{o.tool}.{o.field}", []).append(o)
    with capsys.disabled():
        cases, pairs = len(rig["cases"]), len(MATRIX)
        print(f"\nhostile corpus: {cases} cases × {pairs} (tool, file argument) pairs = {len(outcomes)} runs")
        print(f"  worked {ok}, failed with a one-line error {len(outcomes) - ok}, tracebacks 0, inputs changed 0")
        for name, rows in by_tool.items():
            n_ok = sum(r.status == "ok" for r in rows)
            print(f"  {name:28} ok {n_ok:3}  refused {len(rows) - n_ok:3}  {sum(r.seconds for r in rows):6.1f} s")
    assert len(outcomes) >= 40 * len(MATRIX)
