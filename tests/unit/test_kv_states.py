"""The on-disk store of evaluated prompt states (runtime/kv_states.py), on synthetic payloads: the longest
matching state is found, a damaged file is refused and removed, a session keeps one state and only the most
recently used sessions keep theirs, and a write is never seen half done."""

import os
import time

import numpy as np
import pytest

from assistant.runtime.kv_states import CorruptState, KvStateStore, common_length


def _payload(seed: int, size: int = 4096) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, size, dtype=np.uint8).tobytes()


def _age(path, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(path, (t, t))


@pytest.fixture
def store(tmp_path):
    return KvStateStore(tmp_path / "kv", "model-a:llama 0.3:n_ctx 4096", keep_sessions=2)


def test_common_length_counts_the_shared_prefix():
    a = np.array([1, 2, 3, 4], dtype=np.int32)
    assert common_length(a, np.array([1, 2, 9], dtype=np.int32)) == 2
    assert common_length(a, a[:3]) == 3
    assert common_length(a, np.array([7], dtype=np.int32)) == 0
    assert common_length(a[:0], a) == 0


def test_the_longest_shared_prefix_wins_and_its_payload_reads_back_exactly(store):
    static = list(range(100))
    store.write(static, _payload(1), "prefix")
    store.write(static + [500, 501, 502], _payload(2), "session", owner="s1")
    store.write(static + [600, 601], _payload(3), "session", owner="s2")

    state, common = store.best(static + [500, 501, 777])
    assert (state.kind, state.owner, common) == ("session", "s1", 102)
    buf, offset = store.read(state)
    assert bytes(buf[offset:]) == _payload(2)


def test_no_state_is_offered_when_none_shares_the_first_token(store):
    store.write(list(range(50)), _payload(1), "prefix")
    assert store.best([9999, 1, 2]) is None


def test_among_equal_prefixes_the_most_recently_used_state_wins(store):
    static = list(range(64))
    prefix = store.write(static, _payload(1), "prefix")
    session = store.write(static + [1000], _payload(2), "session", owner="s1")
    _age(prefix, 10)
    _age(session, 100)
    assert store.best(static)[0].kind == "prefix"
    store.touch(store.best(static + [1000])[0])  # the session's state was used just now
    assert store.best(static)[0].kind == "session"


@pytest.mark.parametrize("damage", ["flip", "truncate", "header"])
def test_a_damaged_state_is_refused_and_deleted(store, damage):
    path = store.write(list(range(80)), _payload(7), "prefix")
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-100] ^= 0x01  # one bit of the KV data
    elif damage == "truncate":
        raw = raw[:-10]
    else:
        raw[:5] = b"XXXXX"
    path.write_bytes(bytes(raw))
    if damage == "header":
        assert store.best(list(range(80))) is None  # not even listed
        assert not path.exists()
        return
    state, _ = store.best(list(range(80)))
    with pytest.raises(CorruptState):
        store.read(state)
    store.discard(state)
    assert not path.exists()


def test_a_state_of_another_model_or_build_is_never_offered(tmp_path, store):
    store.write(list(range(30)), _payload(1), "prefix")
    other = KvStateStore(tmp_path / "kv", "model-b:llama 0.3:n_ctx 4096")
    assert other.best(list(range(30))) is None
    assert store.best(list(range(30))) is not None  # and the first model's state is left alone


def test_a_session_keeps_one_state_and_only_the_most_recent_sessions_keep_theirs(store):
    static = list(range(40))
    store.write(static, _payload(0), "prefix")
    first = store.write(static + [1, 2], _payload(1), "session", owner="s1")
    second = store.write(static + [1, 2, 3], _payload(2), "session", owner="s1")
    assert not first.exists() and second.exists()  # the newer context replaced the older one

    _age(second, 30)
    other = store.write(static + [7], _payload(3), "session", owner="s2")
    _age(other, 20)
    third = store.write(static + [8], _payload(4), "session", owner="s3")  # keep_sessions=2: s1 goes
    sessions = sorted(s.owner for s in store.states() if s.kind == "session")
    assert sessions == ["s2", "s3"]
    assert not second.exists() and other.exists() and third.exists()
    assert any(s.kind == "prefix" for s in store.states())  # the static prefix is not a session's


def test_a_write_is_atomic_and_leaves_no_partial_file(store, monkeypatch):
    path = store.write(list(range(10)), _payload(1), "prefix")
    before = path.read_bytes()

    class Boom(Exception):
        pass

    real_replace = type(path).replace

    def failing_replace(self, target):
        raise Boom()

    monkeypatch.setattr(type(path), "replace", failing_replace)
    with pytest.raises(Boom):
        store.write(list(range(10)), _payload(2), "prefix")
    monkeypatch.setattr(type(path), "replace", real_replace)
    assert path.read_bytes() == before  # the old state is intact
    assert not [p for p in store.directory.iterdir() if p.name.endswith(".partial")]
