"""The SQLite engine: one batched writer thread, an adaptive pool of read-only connections."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import tzinfo
from pathlib import Path
from typing import Any, TypeVar

from ..errors import StorageClosedError, StorageError
from ..interfaces import BulkUpsert, ProcessLead, WriteResult, copy_rows, share_key
from ..timeutil import now_ms
from . import schema, upkeep
from .checkpoint import CheckpointMode, WalKeeper
from .conn import configure_writer, open_writer
from .dialect import SqliteDialect, fetch_json, json_rows
from .error_codes import translate
from .fts_tail import FtsTail
from .id_mark import IdMark
from .lead import FileLead, try_lead
from .readpool import ReadPool
from .writer import Writer

# storage/ does not configure logging; the application does.
log = logging.getLogger("msglog.storage")
T = TypeVar("T")


def _fetch_all(sql: str, params: Sequence[Any] | dict[str, Any]) -> Callable[
    [sqlite3.Connection], list[dict[str, Any]]
]:
    def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        cur = conn.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    return run


class SqliteEngine:
    """SQLite behind one batched writer and a pool of read-only connections."""

    name = "sqlite"
    dialect = SqliteDialect()

    def __init__(
        self,
        db_path: str | Path,
        *,
        batch_size: int = 10,
        flush_interval: float = 0.1,
        batch_max: int = 1000,
        queue_max: int = 10000,
        read_pool_min: int = 2,
        read_pool_max: int = 20,
        read_idle_timeout: float = 60.0,
        query_timeout: float = 5.0,
        synchronous: str = "NORMAL",
        enqueue_timeout: float = 2.0,
        checkpoints: CheckpointMode = "auto",
        writer_stall_timeout: float = 60.0,
        legacy_timezone: tzinfo | None = None,
    ) -> None:
        self.path = Path(db_path)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.batch_max = batch_max
        self.queue_max = queue_max
        self.read_pool_min = read_pool_min
        self.read_pool_max = read_pool_max
        self.read_idle_timeout = read_idle_timeout
        self.query_timeout = query_timeout
        self.synchronous = synchronous.upper()
        self.enqueue_timeout = enqueue_timeout
        self.writer_stall_timeout = writer_stall_timeout
        # Where an older runtime's file, migrated in place, wrote its wall-clock times.
        self.legacy_timezone = legacy_timezone
        self._writer_problem: str | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None
        self._writer: Writer | None = None
        self._pool: ReadPool | None = None
        self._wal = WalKeeper(self.path, checkpoints)
        self._ids = IdMark(self.path)
        self._batch_observers: list[Callable[[int, float], None]] = []
        self._closing: asyncio.Task[None] | None = None
        self._opened = False

    # -- lifecycle -----------------------------------------------------------------

    async def init(self) -> None:
        """Open the file, migrate the schema, start the writer and the read pool."""
        if self._opened:
            return
        loop = asyncio.get_running_loop()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="msglog-writer")
        self._fts_tail = FtsTail()
        try:
            self._conn = await loop.run_in_executor(self._executor, self._open_writer)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise
        self._wal.start()
        self._writer = Writer(
            self._conn,
            self._wal,
            batch_size=self.batch_size,
            flush_interval=self.flush_interval,
            batch_max=self.batch_max,
            queue_max=self.queue_max,
            enqueue_timeout=self.enqueue_timeout,
            on_batch=self._observe_batch,
            fts=self._fts_tail,
            ids=self._ids,
        )
        self._writer.start()
        self._pool = ReadPool(
            self.path,
            min_size=self.read_pool_min,
            max_size=self.read_pool_max,
            idle_timeout=self.read_idle_timeout,
            query_timeout=self.query_timeout,
            writes_done=self._rows_written,
            generation=self._write_generation,
            write_backlog=self._write_backlog,
        )
        self._pool.start()
        self._wal.watch_own_readers(self._pool.oldest_read_started)
        self._opened = True

    def _rows_written(self) -> int:
        return self._writer.rows if self._writer is not None else 0

    def _write_backlog(self) -> int:
        return self._writer.queue_depth if self._writer is not None else 0

    def _write_generation(self) -> int:
        return self._writer.generation if self._writer is not None else 0

    def _open_writer(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = open_writer(self.path, self.synchronous)
        try:
            schema.check_migratable(conn)
            schema.prepare_new(conn)
            configure_writer(conn, self.synchronous)
            schema.migrate(conn, self.legacy_timezone)
            self._ids.raise_to_saved(conn)
            self._fts_tail.find(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise translate(exc) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    async def close(self) -> None:
        """Refuse new work, commit everything queued, checkpoint, close. Idempotent."""
        if not self._opened:
            return
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        assert self._writer is not None and self._pool is not None
        assert self._executor is not None and self._conn is not None
        await self._writer.close()
        await self._pool.close()
        self._wal.stop()
        conn = self._conn

        def finish() -> None:
            try:
                self._ids.save(conn)
            except sqlite3.Error as exc:
                log.warning("msglog could not read id marks at close: %s", exc)
            try:
                if self._wal.managed:
                    self._wal.checkpoint(conn, "TRUNCATE")
            except sqlite3.Error as exc:
                # The WAL is replayed at the next open: nothing is lost, but say so.
                self._wal.note_failure("close", exc)
            conn.close()

        await asyncio.get_running_loop().run_in_executor(self._executor, finish)
        self._executor.shutdown(wait=True)

    @property
    def closed(self) -> bool:
        return self._closing is not None

    # -- primitives ----------------------------------------------------------------

    def _live_writer(self) -> Writer:
        if self._writer is None:
            raise StorageClosedError("database is not open; call init() first")
        return self._writer

    def _live_pool(self) -> ReadPool:
        if self._pool is None:
            raise StorageClosedError("database is not open; call init() first")
        return self._pool

    async def execute_write(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> WriteResult:
        """Queue a write; after COMMIT return its own lastrowid and rowcount, or raise."""
        return await self._live_writer().submit(sql, params)  # type: ignore[arg-type]

    async def submit_bulk(self, bulk: BulkUpsert, params: Sequence[Any]) -> WriteResult:
        """Queue an insert the writer may merge with its neighbours into one statement."""
        return await self._live_writer().submit(bulk.single(), params, bulk)

    async def execute_read(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> list[dict[str, Any]]:
        """Run a read on the pool; rows as dicts (identical reads in flight run once)."""
        key = share_key(sql, params)
        return await self._live_pool().run(_fetch_all(sql, params), key, copy_rows)

    async def execute_one(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> dict[str, Any] | None:
        rows = await self.execute_read(sql, params)
        return rows[0] if rows else None

    async def run_read(
        self,
        fn: Callable[[sqlite3.Connection], T],
        key: Hashable | None = None,
        share: Callable[[T], T] | None = None,
    ) -> T:
        """Run `fn(connection)` on a read-only connection (fetch everything inside).

        Callers passing the same `key` while that read is in flight may share its run,
        each getting `share(result)`; only where the key names the whole query.
        """
        return await self._live_pool().run(fn, key, share)

    async def run_on_writer(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn(connection)` on the writer thread between batches (maintenance)."""
        return await self._live_writer().run_sync(fn)

    async def read_many(
        self, statements: Sequence[tuple[str, Sequence[Any] | dict[str, Any]]]
    ) -> list[list[dict[str, Any]]]:
        """Run every statement in one read transaction (one snapshot); rows as dicts."""
        result: list[list[dict[str, Any]]] = await self._live_pool().run(
            upkeep.snapshot(statements)
        )
        return result

    async def read_shown(
        self,
        sql: str,
        params: Sequence[Any],
        columns: Sequence[str],
        time_columns: set[str],
        shared: bool = True,
    ) -> list[dict[str, Any]]:
        """Rows of `sql` (selecting `columns`) with times as ISO text, in one step.

        Identical reads in flight share one run when `shared` (each caller its own copy).
        """
        wrapped = json_rows(columns, time_columns, sql)
        fetch = fetch_json(wrapped, params)
        if not shared:
            return await self._live_pool().run(fetch)
        return await self._live_pool().run(fetch, share_key(wrapped, params), copy_rows)

    async def scrubbed_write(
        self, sql: str, params: Sequence[Any] | dict[str, Any] = ()
    ) -> WriteResult:
        """A write in its own transaction whose freed bytes are zeroed (secrets)."""
        lastrowid, rowcount, rows = await self.run_on_writer(upkeep.scrubbed(sql, params))
        return WriteResult(lastrowid, rowcount, rows or None)

    async def forget_old_versions(self) -> tuple[bool, int]:
        """Truncate the WAL, whose old frames may hold replaced secrets: (done, free pages)."""
        return await self.run_on_writer(upkeep.truncate_wal)

    async def try_lead(self, job: str) -> FileLead | ProcessLead | None:
        """Lead `job` unless another process on this file does (a lock file beside it)."""
        return try_lead(self.path, job)

    async def reclaim_space(self) -> int:
        """Hand free pages back to the file system in short steps; how many were freed."""
        before = await self.run_on_writer(upkeep.freelist)
        left = before
        while left:
            after = await self.run_on_writer(upkeep.vacuum_step)
            if after >= left:
                break
            left = after
            await asyncio.sleep(0)  # other writes go between the steps
        return before - left

    async def flush_search_index(self) -> int:
        """Index the rows the writer has not indexed for search yet; how many it took.

        Searches never need this (they read those rows directly); it is for checks on
        the index itself and before handing the file to another tool.
        """
        writer = self._live_writer()

        def catch_up(conn: sqlite3.Connection) -> int:
            before = writer.fts.indexed_rows
            writer.fts.catch_up(conn)
            if writer.fts.last_error is not None:
                raise StorageError(writer.fts.last_error)
            return writer.fts.indexed_rows - before

        return await writer.run_sync(catch_up)

    async def probe_write(self) -> None:
        """A real, tiny write through the queue: proves the disk takes writes now."""
        await self.execute_write(
            "INSERT INTO msglog_meta (key, value) VALUES ('probe', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(now_ms()),),
        )

    def add_batch_observer(self, observer: Callable[[int, float], None]) -> None:
        """Called after each batch with (items, seconds): for metrics."""
        self._batch_observers.append(observer)

    def _observe_batch(self, size: int, seconds: float) -> None:
        for observer in self._batch_observers:
            observer(size, seconds)

    # -- observability --------------------------------------------------------------

    @property
    def writable(self) -> bool:
        """False while the last batch failed on I/O, or the writer stopped or wedged."""
        return (
            self._writer is not None
            and not self._writer.io_failing
            and not self.closed
            and self.writer_problem() is None
        )

    def writer_problem(self) -> str | None:
        """Why the writer cannot commit (stopped, or no progress while work waits)."""
        if self._writer is None:
            return None
        problem = self._writer.problem(self.writer_stall_timeout)
        if problem is not None and self._writer_problem is None:
            if problem != self._writer.stopped:  # the thread logged its own end already
                log.error("msglog %s", problem)
        elif problem is None and self._writer_problem is not None:
            log.warning("msglog writer making progress again after: %s", self._writer_problem)
        self._writer_problem = problem
        return problem

    def stats(self) -> dict[str, Any]:
        if self._writer is None or self._pool is None:
            raise StorageError("database is not open")
        return {
            "writer": self._writer.stats(),
            "read_pool": self._pool.stats(),
            "wal": self._wal.stats(),
        }
