"""Leads on an SQLite file: a lock file beside it, so two processes on one file never
both run a job that must run once (deliveries, retention)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..interfaces import ProcessLead


class FileLead:
    """Held while this open file keeps its exclusive flock (released with the process)."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @property
    def lost(self) -> bool:
        return False

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


def try_lead(db_path: Path, job: str) -> FileLead | ProcessLead | None:
    """The lead of `job` on `db_path`, or None while another holder has it."""
    lock = db_path.with_name(f"{db_path.name}.{job}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        # A folder we cannot write to holds no second writer either: lead alone.
        return ProcessLead()
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return FileLead(fd)
