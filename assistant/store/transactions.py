"""SQLite as every store opens and writes it (sessions, the sample library): one connection setup, one
write transaction."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


def connect(path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), rows by name, write-ahead logging so
    readers never wait for a writer, and a 30 s wait for another process's write lock."""
    db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


@contextmanager
def immediate_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK when the block raises. IMMEDIATE takes the write lock at the
    start, so two processes writing one database wait for each other instead of failing half-way."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
