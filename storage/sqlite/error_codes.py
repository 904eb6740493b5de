"""Map sqlite3 exceptions to the typed storage errors (SQLite-specific)."""

from __future__ import annotations

import sqlite3

from ..errors import (
    DatabaseCorrupt,
    DiskFull,
    IntegrityViolation,
    InvalidQuery,
    StorageError,
    StorageIOError,
)

# Primary result codes (the low byte of sqlite_errorcode).
SQLITE_PERM = 3
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_NOMEM = 7
SQLITE_READONLY = 8
SQLITE_INTERRUPT = 9
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26

_IO_CODES = {
    SQLITE_PERM,
    SQLITE_BUSY,
    SQLITE_LOCKED,
    SQLITE_NOMEM,
    SQLITE_READONLY,
    SQLITE_IOERR,
    SQLITE_FULL,
    SQLITE_CANTOPEN,
}


def primary_code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else int(code) & 0xFF


def is_io_error(exc: sqlite3.Error) -> bool:
    """True when the failure is the environment's (disk, lock), not the statement's."""
    return primary_code(exc) in _IO_CODES


def is_interrupt(exc: sqlite3.Error) -> bool:
    return primary_code(exc) == SQLITE_INTERRUPT or str(exc) == "interrupted"


def translate(exc: sqlite3.Error) -> StorageError:
    """Return the typed error for a sqlite3 exception, keeping it as the cause."""
    code = primary_code(exc)
    err: StorageError
    if isinstance(exc, sqlite3.IntegrityError):
        err = IntegrityViolation(str(exc), _constraint_kind(str(exc)))
    elif code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        err = DatabaseCorrupt(str(exc))
    elif code == SQLITE_FULL:
        err = DiskFull(f"disk full: {exc}")
    elif code in _IO_CODES:
        err = StorageIOError(str(exc))
    elif isinstance(exc, sqlite3.OperationalError | sqlite3.ProgrammingError):
        err = InvalidQuery(str(exc))
    else:
        err = StorageError(str(exc))
    err.__cause__ = exc
    return err


_KINDS = {"UNIQUE": "unique", "NOT NULL": "not_null", "CHECK": "check",
          "FOREIGN KEY": "foreign_key"}


def _constraint_kind(message: str) -> str | None:
    # SQLite says which: "UNIQUE constraint failed: accounts.email".
    head = message.split(" constraint failed", 1)[0]
    return _KINDS.get(head)
