"""Online backup: a consistent copy of a live database, verified before it is kept.

One-off connections, so aiosqlite's: each runs in a thread of its own and the caller's
event loop stays free (the service's writer and readers keep their own threads).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiosqlite

from ..errors import StorageError
from .conn import BUSY_TIMEOUT_MS
from .error_codes import translate

PAGES_PER_STEP = 256
# (pages copied, pages in total) after each step, called from the backup's own thread.
Progress = Callable[[int, int], None]


class BackupError(StorageError):
    """The copy could not be made or did not verify; nothing was left at the target."""


@dataclass(frozen=True, slots=True)
class BackupReport:
    path: Path
    pages: int
    bytes: int
    message_logs: int | None
    seconds: float


async def backup(
    source: Path,
    target: Path,
    *,
    pages_per_step: int = PAGES_PER_STEP,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> BackupReport:
    """Copy `source` to `target` while others write; the copy passes integrity_check."""
    source, target = Path(source), Path(target)
    partial = await asyncio.to_thread(_prepare, source, target, overwrite)
    started = time.perf_counter()
    try:
        pages = await _copy(source, partial, pages_per_step, progress)
        rows = await _verify(partial)
        await asyncio.to_thread(_keep, partial, target)
        size = target.stat().st_size
    except sqlite3.Error as exc:
        _remove(partial)
        raise BackupError(f"backup of {source} to {target} failed: {translate(exc)}") from exc
    except OSError as exc:
        _remove(partial)
        raise BackupError(f"backup to {target} failed: {exc.strerror or exc}") from exc
    except BaseException:
        _remove(partial)
        raise
    return BackupReport(
        target, pages, size, rows, time.perf_counter() - started
    )


async def _copy(
    source: Path, partial: Path, pages_per_step: int, progress: Progress | None
) -> int:
    total = 0

    def step(_status: int, remaining: int, pages: int) -> None:
        nonlocal total
        total = pages
        if progress is not None:
            progress(pages - remaining, pages)

    uri, dst = await asyncio.to_thread(_endpoints, source, partial)
    try:
        async with aiosqlite.connect(uri, uri=True, isolation_level=None) as src:
            await src.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await src.execute("PRAGMA query_only = 1")
            # One read transaction across every step: the copy is the snapshot taken
            # here. Without it, each commit by another connection would restart the
            # backup, and a busy service could keep it from ever finishing.
            await src.execute("BEGIN")
            await (await src.execute("SELECT count(*) FROM sqlite_master")).fetchone()
            await src.backup(dst, pages=max(1, pages_per_step), progress=step)
            await src.execute("COMMIT")
    finally:
        dst.close()
    return total


def _prepare(source: Path, target: Path, overwrite: bool) -> Path:
    """Check both ends and make the target's folder; the partial file to copy into."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("the backup must go to another file than the database")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists (use --force to replace it)")
    if target.parent.exists() and not target.parent.is_dir():
        raise BackupError(f"cannot write {target}: {target.parent} is not a folder")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the folder {target.parent}: {exc.strerror}") from exc
    partial = target.with_name(target.name + ".partial")
    _remove(partial)
    return partial


def _endpoints(source: Path, partial: Path) -> tuple[str, sqlite3.Connection]:
    # The target is written only from the source connection's thread, inside backup().
    return source.resolve().as_uri() + "?mode=ro", sqlite3.connect(
        partial, check_same_thread=False
    )


async def _verify(path: Path) -> int | None:
    async with aiosqlite.connect(path) as conn:
        problems = [r[0] for r in await conn.execute_fetchall("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError("the copy failed integrity_check: " + "; ".join(problems[:5]))
        has_logs = await conn.execute_fetchall(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'message_logs'"
        )
        if not has_logs:
            return None
        (count,) = await conn.execute_fetchall("SELECT count(*) FROM message_logs")
        return int(count[0])


def _keep(partial: Path, target: Path) -> None:
    """The verified copy under its name, durably (its bytes, then the folder entry)."""
    _fsync(partial)
    os.replace(partial, target)
    _fsync(target.parent)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
