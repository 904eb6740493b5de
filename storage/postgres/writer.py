"""The single writer: a bounded queue drained in batches by one task on one connection.

asyncpg is asynchronous already, so the batching loop is a task on the event loop (the
SQLite writer needs a thread because sqlite3 blocks). Group commit the same way: a batch
starts when `batch_size` items wait, or `flush_interval` after the first one arrived, but
the writer waits for company only while company is coming. A lone write to an idle writer
goes at once; whatever arrived while a batch ran is taken whole (up to `batch_max`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..errors import (
    StorageClosedError,
    StorageError,
    StorageIOError,
    StorageOverloaded,
    WriterStopped,
)
from ..interfaces import BulkUpsert, WriteResult
from ..sqlite.room import Room  # engine-neutral: a counting semaphore for the hot path
from .batch import ConnectionLost, Outcome, WriteItem, bound_params, run_batch
from .sql import translate_sql

log = logging.getLogger("msglog.storage")
Connect = Callable[[], Awaitable[Any]]


class PgWriter:
    """Owns the write connection; commits queued items in batches, one result per caller."""

    def __init__(
        self,
        conn: Any,
        connect: Connect,
        *,
        batch_size: int,
        flush_interval: float,
        batch_max: int,
        queue_max: int,
        enqueue_timeout: float,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._conn: Any = conn
        self._connect = connect
        self._batch_size = max(1, batch_size)
        self._flush_interval = max(0.0, flush_interval)
        self._batch_max = max(1, batch_max)
        self._queue_max = max(1, queue_max)
        self._enqueue_timeout = enqueue_timeout
        self._on_batch = on_batch
        self._pending: deque[WriteItem] = deque()
        self._slots = Room(self._queue_max)
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._in_flight = 0
        self._busy_since: float | None = None
        self.batches = 0
        self.rows = 0
        self.errors = 0
        self.last_batch_size = 0
        self.isolated_batches = 0  # batches redone with a savepoint per item
        self.lost_batches = 0  # batches whose connection dropped
        self.reconnects = 0
        # Bumped after every commit, before anyone is told of it (read sharing uses it).
        self.generation = 0
        self.io_failing = False
        self.last_error: str | None = None
        self.stopped: str | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._main(), name="msglog-writer")

    # -- callers -------------------------------------------------------------------

    async def submit(
        self, sql: str, params: Sequence[Any] = (), bulk: BulkUpsert | None = None
    ) -> WriteResult:
        """Queue one write and wait for its own result after COMMIT."""
        statement = translate_sql(sql)
        # A wrong parameter count fails its caller here, not a batch's transaction.
        values = bound_params(statement, params)
        await self._reserve()
        loop = asyncio.get_running_loop()
        item = WriteItem(statement, values, bulk, time.monotonic(), loop.create_future())
        self._pending.append(item)
        self._wake.set()
        # Cancelling this await does not unqueue the write: the writer still commits it.
        result: WriteResult = await item.future
        return result

    async def _reserve(self) -> None:
        if self.stopped is not None:
            raise WriterStopped(self.stopped)
        if self._closing:
            raise StorageClosedError("database is closed; write refused")
        if not self._slots.try_take():
            try:
                async with asyncio.timeout(self._enqueue_timeout):
                    await self._slots.take()
            except TimeoutError:
                raise StorageOverloaded(
                    f"write queue full ({self._queue_max} waiting) "
                    f"for {self._enqueue_timeout:g}s",
                    retry_after=max(1.0, self._enqueue_timeout),
                ) from None
            if self._closing or self.stopped is not None:
                self._slots.give()
                raise StorageClosedError("database closed while the write waited for room")

    async def close(self) -> None:
        """Refuse new writes, commit everything queued, close the connection."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await asyncio.shield(self._task)

    # -- the writer task -----------------------------------------------------------

    async def _main(self) -> None:
        try:
            while True:
                batch = await self._next_batch()
                if batch is None:
                    return
                await self._run(batch)
        except Exception as exc:
            self.last_error = self.stopped = f"writer stopped: {exc!r}"
            log.exception("msglog writer task stopped")
        finally:
            self._closing = True
            stranded = list(self._pending)
            self._pending.clear()
            for item in stranded:
                self._slots.give()
                if not item.future.done():
                    item.future.set_exception(WriterStopped(self.stopped or "writer stopped"))
            if self._conn is not None:
                conn, self._conn = self._conn, None
                try:
                    await asyncio.wait_for(conn.close(), timeout=5)
                except Exception:
                    conn.terminate()

    async def _next_batch(self) -> list[WriteItem] | None:
        while not self._pending:
            if self._closing:
                return None
            self._wake.clear()
            await self._wake.wait()
        # Company is coming while each loop turn brings more: wait for it, within bounds.
        # A lone item (nobody else queued behind it) goes at once.
        if len(self._pending) > 1 and self._flush_interval > 0:
            deadline = self._pending[0].enqueued_at + self._flush_interval
            seen = len(self._pending)
            while not self._closing and seen < self._batch_size and time.monotonic() < deadline:
                await asyncio.sleep(0)
                if len(self._pending) == seen:
                    break
                seen = len(self._pending)
        take = min(len(self._pending), self._batch_max)
        batch = [self._pending.popleft() for _ in range(take)]
        self._in_flight = len(batch)
        return batch

    async def _run(self, batch: list[WriteItem]) -> None:
        started = time.perf_counter()
        self._busy_since = time.monotonic()
        try:
            outcomes = await self._attempt(batch)
        finally:
            self._busy_since = None
            self._in_flight = 0
        failed = sum(1 for o in outcomes if isinstance(o, StorageError))
        io_failed = all(isinstance(o, StorageIOError) for o in outcomes)
        self.io_failing = io_failed
        if failed:
            first = next(o for o in outcomes if isinstance(o, StorageError))
            self.last_error = str(first)
        self.generation += 1
        self.batches += 1
        self.last_batch_size = len(batch)
        self.rows += len(batch) - failed
        self.errors += failed
        seconds = time.perf_counter() - started
        for item, outcome in zip(batch, outcomes, strict=True):
            self._slots.give()
            if item.future.done():
                continue
            if isinstance(outcome, StorageError):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)
        if self._on_batch is not None:
            try:
                self._on_batch(len(batch), seconds)
            except Exception:
                log.exception("msglog batch observer failed")

    async def _attempt(self, batch: list[WriteItem]) -> list[Outcome]:
        try:
            conn = await self._connection()
        except Exception as exc:
            return [StorageIOError(f"cannot reach PostgreSQL for writes: {exc}")] * len(batch)
        try:
            outcomes, isolated = await run_batch(conn, batch)
        except ConnectionLost as lost:
            self.lost_batches += 1
            self._drop_connection()
            if lost.maybe_committed:
                message = ("PostgreSQL connection lost while committing: these writes may "
                           "or may not have been committed (not retried)")
            else:
                message = "PostgreSQL connection lost during the write batch: not committed"
            log.error("msglog %s: %s", message, lost.cause)
            error = StorageIOError(f"{message}: {lost.cause}")
            error.__cause__ = lost.cause
            return [error] * len(batch)
        except Exception as exc:  # a bug in the batch path must not strand its callers
            log.exception("msglog write batch failed")
            self._drop_connection()  # its state is unknown: start clean
            return [StorageError(f"writer failed: {exc!r}")] * len(batch)
        if isolated:
            self.isolated_batches += 1
        return outcomes

    async def _connection(self) -> Any:
        # A connection that closed while idle ran nothing of this batch: replace it.
        if self._conn is None or self._conn.is_closed():
            self._drop_connection()
            self._conn = await self._connect()
            self.reconnects += 1
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.terminate()

    # -- observability -------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        return len(self._pending) + self._in_flight

    def problem(self, stall_after: float) -> str | None:
        """Why writes cannot commit: a stopped task, or no progress while work waits."""
        if self.stopped is not None:
            return self.stopped
        if self._task is not None and self._task.done() and not self._closing:
            return "writer stopped: its task ended"
        now = time.monotonic()
        busy = self._busy_since
        if busy is not None and now - busy > stall_after:
            return f"writer wedged: the same batch has run for {now - busy:.0f} s"
        if self._pending and now - self._pending[0].enqueued_at > stall_after:
            return (f"writer wedged: {len(self._pending)} writes waiting, the oldest for "
                    f"{now - self._pending[0].enqueued_at:.0f} s")
        return None

    def stats(self) -> dict[str, Any]:
        return {
            "queue_depth": self.queue_depth,
            "queue_max": self._queue_max,
            "batches": self.batches,
            "rows": self.rows,
            "avg_batch_size": round((self.rows + self.errors) / self.batches, 2)
            if self.batches
            else 0.0,
            "last_batch_size": self.last_batch_size,
            "errors": self.errors,
            "isolated_batches": self.isolated_batches,
            "lost_batches": self.lost_batches,
            "reconnects": self.reconnects,
            "connected": self._conn is not None and not self._conn.is_closed(),
            # The writer's backend, as pg_stat_activity.pid shows it.
            "server_pid": self._conn.get_server_pid() if self._conn is not None else None,
            "io_failing": self.io_failing,
            "last_error": self.last_error,
            "stopped": self.stopped,
        }
