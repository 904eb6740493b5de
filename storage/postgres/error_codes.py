"""Map asyncpg exceptions to the typed storage errors, by SQLSTATE (PostgreSQL-specific)."""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]

from ..errors import (
    DiskFull,
    IntegrityViolation,
    InvalidQuery,
    QueryTimeout,
    StorageError,
    StorageIOError,
)

# Constraint kinds, as IntegrityViolation.kind names them for both engines.
_KINDS = {
    "23505": "unique",
    "23502": "not_null",
    "23514": "check",
    "23503": "foreign_key",
    "23P01": "exclusion",
}
QUERY_CANCELED = "57014"  # statement_timeout (or pg_cancel_backend)
DISK_FULL = "53100"
# The server ended the session: admin shutdown (pg_terminate_backend), crash, starting up.
_SESSION_ENDED = {"57P01", "57P02", "57P03"}
# Environment, not statement: out of memory or connections, I/O, read-only (a standby),
# permission, lock waits.
_IO_STATES = {"25006", "42501", "55P03", "58030", "58P01", "58P02"}


def sqlstate(exc: BaseException) -> str | None:
    state = getattr(exc, "sqlstate", None)
    return state if isinstance(state, str) else None


def is_connection_error(exc: BaseException) -> bool:
    """True when the session itself is gone (the statement's outcome may be unknown)."""
    if isinstance(exc, OSError | asyncpg.PostgresConnectionError):
        return True
    state = sqlstate(exc)
    if state is not None and (state in _SESSION_ENDED or state.startswith("08")):
        return True
    # asyncpg's words for a session that closed under an operation.
    return isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)


def translate(exc: BaseException, sql: str | None = None) -> StorageError:
    """The typed error for a driver exception, keeping it as the cause.

    Messages are PostgreSQL's own (they may quote a fragment near a syntax error) and
    never the statement; InvalidQuery keeps the statement as `.query`, for logs only.
    """
    err: StorageError
    state = sqlstate(exc)
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, TimeoutError):
        err = QueryTimeout("the statement ran past the query timeout")
    elif is_connection_error(exc):
        err = StorageIOError(f"PostgreSQL connection lost: {message}")
    elif state is None:
        if isinstance(exc, asyncpg.exceptions._base.DataError):
            # A parameter that cannot be sent as the column's type (client side).
            err = _invalid(f"invalid parameter: {message}", sql)
        else:
            err = StorageError(f"PostgreSQL driver error: {message}")
    elif state.startswith("23"):
        err = IntegrityViolation(f"{message} (SQLSTATE {state})", _KINDS.get(state))
    elif state == QUERY_CANCELED:
        err = QueryTimeout(f"statement cancelled (query timeout): {message}")
    elif state == DISK_FULL:
        err = DiskFull(f"disk full: {message}")
    elif state in _IO_STATES or state.startswith(("53", "58", "XX")):
        err = StorageIOError(f"{message} (SQLSTATE {state})")
    elif state.startswith(("42", "22", "0A", "21")):
        # Syntax, unknown table or column, bad cast, wrong value for a type, cardinality.
        err = _invalid(f"{message} (SQLSTATE {state})", sql)
    else:
        err = StorageError(f"{message} (SQLSTATE {state})")
    err.__cause__ = exc
    return err


class PgInvalidQuery(InvalidQuery):
    """InvalidQuery that keeps the statement (for logs; never shown over HTTP)."""

    def __init__(self, message: str, query: str | None) -> None:
        super().__init__(message)
        self.query = query


def _invalid(message: str, sql: str | None) -> InvalidQuery:
    return PgInvalidQuery(message, sql)
