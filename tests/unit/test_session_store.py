"""The session store and workspace rules: artifact ids, provenance, paths that escape the workspace
(symlinks included), fresh output names that never replace a file, and resuming after a restart."""

import os

import numpy as np
import pytest
import soundfile as sf

from assistant.errors import EarshotError, PathRefused
from assistant.store.session import SessionStore


def test_artifacts_get_sequential_short_ids_with_provenance(session):
    a = session.workspace / "a.wav"
    sf.write(a, np.zeros(160, np.float32), 16000)
    first = session.add_artifact(a, "input", duration_s=0.01, sample_rate_hz=16000, channels=1)
    out = session.new_output_path("a-louder", ".wav")
    sf.write(out, np.zeros(160, np.float32), 16000)
    second = session.add_artifact(out, "audio", tool="edit", parents=(first.ref,))
    assert (first.ref, second.ref) == ("@a1", "@a2")
    assert second.parents == ("@a1",) and second.tool == "edit" and len(second.sha256) == 64
    assert session.last_artifact().ref == "@a2"
    assert "from edit of @a1" in second.describe()


def test_paths_outside_the_workspace_are_refused(session, tmp_path):
    outside = tmp_path / "secret.wav"
    sf.write(outside, np.zeros(160, np.float32), 16000)
    for name in ("../secret.wav", str(outside), "../../etc/passwd"):
        with pytest.raises(PathRefused, match="outside the workspace"):
            session.resolve_user_path(name)
    link = session.workspace / "innocent.wav"
    os.symlink(outside, link)  # a link inside pointing outside is refused too
    with pytest.raises(PathRefused):
        session.resolve_user_path("innocent.wav")
    assert session.resolve_user_path(str(outside), (tmp_path.resolve(),)) == outside.resolve()  # allowed root


def test_missing_file_and_directory_are_clear_errors(session):
    (session.workspace / "sub").mkdir()
    with pytest.raises(EarshotError, match="no file 'nope.wav'"):
        session.resolve_user_path("nope.wav")
    with pytest.raises(EarshotError, match="not a file"):
        session.resolve_user_path("sub")


def test_output_paths_never_replace_an_existing_file(session):
    existing = session.workspace / "mix.wav"
    existing.write_bytes(b"keep me")
    paths = {session.new_output_path("mix", ".wav") for _ in range(3)}
    assert existing not in paths and len(paths) == 3
    assert existing.read_bytes() == b"keep me"
    assert session.new_output_path("../../evil", ".wav").parent == session.workspace


def test_a_session_resumes_with_its_history(config, tmp_path):
    store = SessionStore(config.paths.database_path)
    session = store.create_session(tmp_path / "ws")
    turn = session.begin_turn("say hi")
    session.end_turn(turn, "ok", reply="Hi.")
    store.close()

    reopened = SessionStore(config.paths.database_path)
    again = reopened.latest_session()
    assert again.id == session.id and again.workspace == session.workspace
    assert [t["user_text"] for t in again.turns()] == ["say hi"]
    assert reopened.open_session(session.id[-4:]).id == session.id  # a unique suffix is enough
    with pytest.raises(EarshotError, match="no session"):
        reopened.open_session("does-not-exist")
    assert reopened.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened.close()


def test_a_nan_file_never_becomes_an_artifact(session):
    from assistant.errors import BadAudio
    from assistant.llm.plan import register_user_file

    bad = np.zeros(1600, np.float32)
    bad[10:20] = np.nan
    sf.write(session.workspace / "broken.wav", bad, 16000, subtype="FLOAT")
    with pytest.raises(BadAudio, match="NaN"):
        register_user_file(session, session.workspace / "broken.wav")
    assert session.artifacts() == []
