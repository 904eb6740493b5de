"""msglog storage: the domain (logs, accounts, deliveries) over a swappable engine."""

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
from .interfaces import WriteResult
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
