"""Keeping the WAL bounded while readers never stop (SQLite-specific)."""

from __future__ import annotations

import logging
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from .conn import BUSY_TIMEOUT_MS, open_checkpointer

# PASSIVE checkpoints copy frames back on their own thread every few MB of growth, so a
# RESTART (which makes the next commit rewind the WAL) has little left to copy.
PASSIVE_STEP_BYTES = 4 * 1024 * 1024
RESTART_AT_BYTES = 24 * 1024 * 1024
RESTART_WAIT_MS = 250
# A RESTART that a snapshot held by someone else keeps busy is tried again this much
# later, without waiting: the WAL grows meanwhile (a snapshot pins it), writes do not.
PINNED_RETRY_S = 1.0
# Busy this many times in a row, even with msglog's own readers about, counts as pinned.
PINNED_AFTER_BUSY = 3
# storage/ does not configure logging; the application does (stdlib falls back to stderr).
log = logging.getLogger("msglog.storage")
CheckpointMode = Literal["auto", "external"]
# The WAL's size is a stat() call, and each system call on the writer thread gives up the
# GIL: between closely spaced batches, look at most this often.
STAT_EVERY_S = 0.005
# A rewound WAL keeps its file size (truncating it on every rewind made the next commit
# wait 25-30 ms for the file system), so the bytes in use come from the wal-index header
# at the start of the -shm file (https://www.sqlite.org/walformat.html): the page size
# (u16 at offset 14, 1 meaning 65536) and mxFrame, the last valid frame (u32 at 16), in
# native byte order.
_SHM_HEADER = struct.Struct("=14xHI")
WAL_HEADER_BYTES = 32
FRAME_HEADER_BYTES = 24


class WalKeeper:
    """Watches the WAL after each commit and checkpoints before readers starve it."""

    def __init__(self, db_path: Path, mode: CheckpointMode = "auto") -> None:
        if mode not in ("auto", "external"):
            raise ValueError(f"checkpoints must be 'auto' or 'external', not {mode!r}")
        # "external": a replicator (Litestream) owns checkpoints; msglog only measures.
        self.managed = mode == "auto"
        # When the oldest read on msglog's own connections started (monotonic), or None.
        self._own_reads_since: Callable[[], float | None] = lambda: None
        self._retry_at = 0.0
        self._busy_streak = 0
        # The checkpointer thread's PASSIVE run holds the checkpoint lock: a RESTART then
        # is busy because of msglog itself.
        self._passive_running = False
        self._passive_runs = 0
        self.pinned: dict[str, Any] | None = None
        self.pinned_episodes = 0
        self.busy_checkpoints = 0
        self.failed_checkpoints = 0
        self.last_failure: str | None = None
        self._wal_path = Path(str(db_path) + "-wal")
        self._shm_path = Path(str(db_path) + "-shm")
        self._shm_fd: int | None = None
        self._db_path = db_path
        self._passive_at = PASSIVE_STEP_BYTES
        self._next_stat = 0.0
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.peak_bytes = 0
        self.checkpoints = 0
        self.last_checkpoint: dict[str, Any] | None = None

    def watch_own_readers(self, oldest_read_started: Callable[[], float | None]) -> None:
        """Tell readers msglog owns from the rest: a busy checkpoint asks who is older."""
        self._own_reads_since = oldest_read_started

    def start(self) -> None:
        """Call once the writer has the database in WAL mode (the -shm file exists)."""
        try:
            self._shm_fd = os.open(self._shm_path, os.O_RDONLY)
        except OSError:
            self._shm_fd = None  # sizes fall back to the WAL file's
        if not self.managed:
            return
        self._thread = threading.Thread(target=self._passive_loop, name="msglog-wal", daemon=True)
        self._thread.start()

    def wal_bytes(self) -> int:
        """Bytes of the WAL in use (the file itself may be larger, see _SHM_HEADER)."""
        fd = self._shm_fd
        try:
            header = os.pread(fd, _SHM_HEADER.size, 0) if fd is not None else b""
        except OSError:
            header = b""
        if len(header) == _SHM_HEADER.size:
            page_size, frames = _SHM_HEADER.unpack(header)
            if page_size:
                if page_size == 1:
                    page_size = 65536
                return WAL_HEADER_BYTES + frames * (page_size + FRAME_HEADER_BYTES) if frames else 0
        return self.file_bytes()

    def file_bytes(self) -> int:
        try:
            return os.stat(self._wal_path).st_size
        except FileNotFoundError:
            return 0

    def after_commit(self, writer: sqlite3.Connection, may_pause: bool = True) -> bool:
        """Called on the writer thread between batches; True if it paused for a RESTART.

        With `may_pause` False the writer has just paused for other work: a RESTART due
        now waits for the next commit, so writers never wait for two pauses in a row.
        """
        now = time.monotonic()
        if now < self._next_stat:
            return False
        self._next_stat = now + STAT_EVERY_S
        size = self.wal_bytes()
        self.peak_bytes = max(self.peak_bytes, size)
        if not self.managed:
            return False
        if self.pinned is not None:
            self.pinned["wal_bytes"] = size
        if size >= RESTART_AT_BYTES:
            if now < self._retry_at or self._passive_running:
                return False
            if not may_pause:
                self._next_stat = 0.0  # look again right after the next commit
                return False
            self._restart(writer, size)
            return True
        if size >= self._passive_at:
            self._passive_at = size + PASSIVE_STEP_BYTES
            self._wake.set()
        return False

    def _restart(self, writer: sqlite3.Connection, size: int) -> None:
        # RESTART waits only for readers older than it; new readers go on. A long read
        # must not stall the writer for the full busy timeout, and a pinned WAL is only
        # probed: a snapshot held outside msglog can last for minutes.
        wait_ms = 0 if self.pinned is not None else RESTART_WAIT_MS
        started = time.monotonic()
        passive_runs = self._passive_runs
        writer.execute(f"PRAGMA busy_timeout = {wait_ms}")
        try:
            result = self.checkpoint(writer, "RESTART")
        finally:
            writer.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not result["busy"]:
            self._busy_streak = 0
            self._retry_at = 0.0
            self._passive_at = PASSIVE_STEP_BYTES
            if self.pinned is not None:
                log.info(
                    "msglog WAL released after %.0f s: the snapshot that pinned %.1f MB "
                    "is gone, the WAL rewinds", time.time() - self.pinned["since"],
                    self.pinned["wal_bytes"] / 2**20,
                )
                self.pinned = None
            return
        with self._lock:
            self.busy_checkpoints += 1
        if self._passive_running or self._passive_runs != passive_runs:
            return  # msglog's own checkpointer was in the way: try after the next commit
        self._busy_streak += 1
        oldest = self._own_reads_since()
        foreign = oldest is None or oldest >= started
        if self.pinned is None and (foreign or self._busy_streak >= PINNED_AFTER_BUSY):
            self.pinned = {
                "since": time.time(),
                "by": "a reader outside msglog" if foreign else "a long read",
                "wal_bytes": size,
            }
            with self._lock:
                self.pinned_episodes += 1
            log.warning(
                "msglog WAL pinned: %s holds a snapshot, the WAL is %.1f MB and grows until "
                "it ends; checkpoints retry every %g s without waiting",
                self.pinned["by"], size / 2**20, PINNED_RETRY_S,
            )
        if self.pinned is not None:
            self.pinned["wal_bytes"] = size
            self._retry_at = time.monotonic() + PINNED_RETRY_S

    def note_failure(self, where: str, exc: BaseException) -> None:
        """Count a failed checkpoint; log when failures start (not each one after)."""
        with self._lock:
            self.failed_checkpoints += 1
            first = self.last_failure is None
            self.last_failure = f"{where}: {exc}"
        if first:
            log.warning("msglog checkpoint failed (%s): %s; retried later", where, exc)

    def note_success(self) -> None:
        if self.last_failure is not None:
            with self._lock:
                failure, self.last_failure = self.last_failure, None
            log.warning("msglog checkpoints succeed again after: %s", failure)

    def checkpoint(self, conn: sqlite3.Connection, mode: str) -> dict[str, Any]:
        started = time.perf_counter()
        busy, log_frames, done = conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        result = {
            "mode": mode,
            "busy": bool(busy),
            "log_frames": log_frames,
            "checkpointed_frames": done,
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "at": time.time(),
        }
        with self._lock:
            self.checkpoints += 1
            self.last_checkpoint = result
        self.note_success()
        return result

    def _passive_loop(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stop:
                    return
                try:
                    if conn is None:
                        conn = open_checkpointer(self._db_path)
                    self._passive_running = True
                    self._passive_runs += 1
                    self.checkpoint(conn, "PASSIVE")
                except sqlite3.Error as exc:
                    # A failed PASSIVE checkpoint only delays space reuse; the writer's
                    # RESTART past the threshold still bounds the WAL.
                    self.note_failure("checkpointer thread", exc)
                finally:
                    self._passive_running = False
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._shm_fd is not None:
            os.close(self._shm_fd)
            self._shm_fd = None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            last = dict(self.last_checkpoint) if self.last_checkpoint else None
            pinned = dict(self.pinned) if self.pinned else None
            busy, episodes = self.busy_checkpoints, self.pinned_episodes
        return {
            "bytes": self.wal_bytes(),
            "file_bytes": self.file_bytes(),
            "peak_bytes": self.peak_bytes,
            "checkpoints": self.checkpoints,
            "busy_checkpoints": busy,
            "failed_checkpoints": self.failed_checkpoints,
            "last_failure": self.last_failure,
            "last_checkpoint": last,
            "managed": self.managed,
            "pinned": pinned,
            "pinned_episodes": episodes,
        }
