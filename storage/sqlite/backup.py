"""Online backup: a consistent copy of a live database, verified before it is kept."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import StorageError
from .conn import open_reader
from .error_codes import translate

PAGES_PER_STEP = 256
# (pages copied, pages in total) after each step.
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


def backup(
    source: Path,
    target: Path,
    *,
    pages_per_step: int = PAGES_PER_STEP,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> BackupReport:
    """Copy `source` to `target` while others write; the copy passes integrity_check."""
    source, target = Path(source), Path(target)
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
    started = time.perf_counter()
    try:
        pages = _copy(source, partial, pages_per_step, progress)
        rows = _verify(partial)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent)
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
        target, pages, target.stat().st_size, rows, time.perf_counter() - started
    )


def _copy(source: Path, partial: Path, pages_per_step: int, progress: Progress | None) -> int:
    src = open_reader(source)
    dst = sqlite3.connect(partial)
    total = 0

    def step(_status: int, remaining: int, pages: int) -> None:
        nonlocal total
        total = pages
        if progress is not None:
            progress(pages - remaining, pages)

    try:
        # One read transaction across every step: the copy is the snapshot taken here.
        # Without it, each commit by another connection would restart the backup, and a
        # busy service could keep it from ever finishing.
        src.execute("BEGIN")
        src.execute("SELECT count(*) FROM sqlite_master").fetchone()
        src.backup(dst, pages=max(1, pages_per_step), progress=step)
        src.execute("COMMIT")
    finally:
        dst.close()
        src.close()
    return total


def _verify(path: Path) -> int | None:
    conn = sqlite3.connect(path)
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        if problems != ["ok"]:
            raise BackupError("the copy failed integrity_check: " + "; ".join(problems[:5]))
        has_logs = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'message_logs'"
        ).fetchone()
        if not has_logs:
            return None
        return int(conn.execute("SELECT count(*) FROM message_logs").fetchone()[0])
    finally:
        conn.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
