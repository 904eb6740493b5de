"""Typed storage errors: every failure reaches its caller as one of these."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every error the storage layer raises."""


class StorageClosedError(StorageError):
    """The database is closed (or closing) and accepts no more work."""


class StorageOverloaded(StorageError):
    """The write queue stayed full past the enqueue timeout."""

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueryTimeout(StorageError):
    """A read ran past the query timeout and was interrupted."""


class IntegrityViolation(StorageError):
    """A constraint (unique, not null, check, foreign key) rejected the write."""

    def __init__(self, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        # "unique", "not_null", "check" or "foreign_key" when the engine says which.
        self.kind = kind


class StorageIOError(StorageError):
    """The disk refused the write (full, read-only, I/O error, locked too long)."""


class DiskFull(StorageIOError):
    """The file system has no room for the write (SQLITE_FULL)."""


class WriterStopped(StorageError):
    """The writer thread is gone: no write can commit until the service restarts."""


class DatabaseCorrupt(StorageError):
    """The file is not a usable SQLite database; it is left untouched."""


class MigrationError(StorageError):
    """An existing database cannot be migrated; it is left unchanged."""


class InvalidQuery(StorageError):
    """The SQL itself is wrong (syntax, unknown column): a programming error."""
