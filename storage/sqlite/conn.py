"""Opening SQLite connections with the pragmas every role needs (SQLite-specific)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..errors import StorageError
from .error_codes import translate

BUSY_TIMEOUT_MS = 5000
# The WAL is truncated back to this size after a checkpoint resets it. Above the 24 MB
# at which the writer checkpoints (checkpoint.py): truncating at every reset made the
# next commit wait 25-30 ms on the file system. A rare bigger WAL still shrinks back.
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024
SYNCHRONOUS_MODES = ("NORMAL", "FULL")


def _wrap(exc: sqlite3.Error, path: Path) -> StorageError:
    err = translate(exc)
    err.args = (f"{path}: {err}",)
    return err


def open_writer(path: Path, synchronous: str) -> sqlite3.Connection:
    """The single read-write connection; autocommit mode, we issue BEGIN ourselves."""
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, not {synchronous!r}")
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        # busy_timeout first: every later pragma may need a lock another process holds.
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Reading the schema first fails cleanly (NOTADB) on a foreign file before
        # the journal-mode switch would write anything to it.
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        raise _wrap(exc, path) from exc
    return conn


def configure_writer(conn: sqlite3.Connection, synchronous: str) -> None:
    """Pragmas that may write to the file: applied only after migrations were checked."""
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise StorageError(f"could not switch to WAL mode (got {mode!r})")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
    # A batch's statement journal otherwise spills to a temp file per batch.
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA cache_size = -32768")
    # Checkpoints run on their own connection (see checkpoint.py), not inside commits.
    conn.execute("PRAGMA wal_autocheckpoint = 0")


def open_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection: it cannot write even if handed a write by mistake."""
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only = 1")
        conn.execute("PRAGMA temp_store = MEMORY")
        conn.execute("PRAGMA cache_size = -16384")
    except sqlite3.Error as exc:
        conn.close()
        raise _wrap(exc, path) from exc
    return conn


def open_checkpointer(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn
