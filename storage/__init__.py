"""msglog storage: SQLite behind a batched writer and an adaptive read pool."""

from .batch import WriteResult
from .database import AsyncDatabase
from .errors import (
    DatabaseCorrupt,
    IntegrityViolation,
    MigrationError,
    QueryTimeout,
    StorageClosedError,
    StorageError,
    StorageIOError,
    StorageOverloaded,
)
from .message_logs import LogFilter

__all__ = [
    "AsyncDatabase",
    "DatabaseCorrupt",
    "IntegrityViolation",
    "LogFilter",
    "MigrationError",
    "QueryTimeout",
    "StorageClosedError",
    "StorageError",
    "StorageIOError",
    "StorageOverloaded",
    "WriteResult",
]
