"""msglog storage: SQLite behind a batched writer and an adaptive read pool."""

from .batch import WriteResult
from .database import AsyncDatabase
from .errors import (
    DatabaseCorrupt,
    DiskFull,
    IntegrityViolation,
    MigrationError,
    QueryTimeout,
    StorageClosedError,
    StorageError,
    StorageIOError,
    StorageOverloaded,
    WriterStopped,
)
from .message_logs import LogFilter

__all__ = [
    "AsyncDatabase",
    "DatabaseCorrupt",
    "DiskFull",
    "IntegrityViolation",
    "LogFilter",
    "MigrationError",
    "QueryTimeout",
    "StorageClosedError",
    "StorageError",
    "StorageIOError",
    "StorageOverloaded",
    "WriteResult",
    "WriterStopped",
]
