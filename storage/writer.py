"""The single writer: a bounded queue drained in batches on one dedicated thread."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from .batch import BulkUpsert, Outcome, WriteItem, WriteResult, run_batch
from .checkpoint import WalKeeper
from .errors import StorageClosedError, StorageError, StorageIOError, StorageOverloaded

T = TypeVar("T")
# The caller resumes one event-loop turn after its result is set.
WAKE_MARGIN = 0.0005


class Writer:
    """Owns the write connection; commits queued items in batches, one result per caller."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        executor: ThreadPoolExecutor,
        wal: WalKeeper,
        *,
        batch_size: int,
        flush_interval: float,
        batch_max: int,
        queue_max: int,
        enqueue_timeout: float,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._conn = conn
        self._executor = executor
        self._wal = wal
        self._batch_size = max(1, batch_size)
        self._flush_interval = max(0.0, flush_interval)
        self._batch_max = max(1, batch_max)
        self._queue: asyncio.Queue[WriteItem] = asyncio.Queue(maxsize=queue_max)
        self._queue_max = queue_max
        self._enqueue_timeout = enqueue_timeout
        self._arrived = asyncio.Event()
        self._blocked_puts = 0
        self._closing = False
        self._in_flight = 0
        self._on_batch = on_batch
        self._task: asyncio.Task[None] | None = None
        self._commit_estimate = 0.001  # refined by every lone batch
        self.batches = 0
        self.rows = 0
        self.errors = 0
        self.io_failing = False
        self.last_error: str | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="msglog-writer")

    async def submit(
        self, sql: str, params: Sequence[Any] = (), bulk: BulkUpsert | None = None
    ) -> WriteResult:
        """Queue one write and wait for its own result after COMMIT."""
        if self._closing:
            raise StorageClosedError("database is closed; write refused")
        loop = asyncio.get_running_loop()
        item = WriteItem(sql, params, bulk, loop.time(), loop.create_future())
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            await self._put_waiting(item)
        self._arrived.set()
        # Cancelling this await does not unqueue the write: the writer still commits it.
        result: WriteResult = await item.future
        return result

    async def _put_waiting(self, item: WriteItem) -> None:
        self._blocked_puts += 1
        try:
            async with asyncio.timeout(self._enqueue_timeout):
                await self._queue.put(item)
        except TimeoutError:
            raise StorageOverloaded(
                f"write queue full ({self._queue_max} waiting) for {self._enqueue_timeout:g}s",
                retry_after=max(1.0, self._enqueue_timeout),
            ) from None
        finally:
            self._blocked_puts -= 1
        # The enqueue time counts from when the item got a place in the queue.
        item.enqueued_at = asyncio.get_running_loop().time()

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize() + self._in_flight

    async def close(self) -> None:
        """Refuse new writes, commit everything queued, stop the loop."""
        self._closing = True
        self._arrived.set()
        if self._task is not None:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._queue.empty():
                if self._closing and self._blocked_puts == 0:
                    return
                self._arrived.clear()
                await self._arrived.wait()
                continue
            first = self._queue.get_nowait()
            self._in_flight = 1
            # Start early by what waking up and committing a small batch takes, so the
            # acknowledgement itself (not just the commit's start) lands within the
            # flush interval.
            lead = min(self._commit_estimate + WAKE_MARGIN, self._flush_interval / 2)
            planned = first.enqueued_at + self._flush_interval - lead
            timed_out = await self._wait_for_batch(planned)
            batch = [first]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._in_flight = len(batch)
            await self._commit(loop, batch)
            self._in_flight = 0
            if timed_out and len(batch) <= self._batch_size:
                took = loop.time() - planned
                self._commit_estimate += (took - self._commit_estimate) / 8

    async def _wait_for_batch(self, deadline: float) -> bool:
        """Wait until batch_size items wait (counting the held one) or the deadline.

        True when the deadline, not a full batch, ended the wait.
        """
        loop = asyncio.get_running_loop()
        # A full queue is as good as a full batch: producers are already waiting.
        while (
            not self._closing
            and self._queue.qsize() + 1 < self._batch_size
            and not self._queue.full()
        ):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return True
            self._arrived.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
            except TimeoutError:
                return True
        return False

    async def _commit(self, loop: asyncio.AbstractEventLoop, batch: list[WriteItem]) -> None:
        started = time.perf_counter()
        try:
            outcomes = await asyncio.shield(
                loop.run_in_executor(self._executor, self._execute, batch)
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the batch path must not strand its callers
            err = StorageError(f"writer failed: {exc!r}")
            outcomes = [err] * len(batch)
        self.batches += 1
        failed = 0
        for item, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, StorageError):
                failed += 1
                if not item.future.done():
                    item.future.set_exception(outcome)
            elif not item.future.done():
                item.future.set_result(outcome)
        self.rows += len(batch) - failed
        self.errors += failed
        if self._on_batch is not None:
            self._on_batch(len(batch), time.perf_counter() - started)

    def _execute(self, batch: list[WriteItem]) -> list[Outcome]:
        outcomes = run_batch(self._conn, batch)
        io_failed = bool(outcomes) and all(isinstance(o, StorageIOError) for o in outcomes)
        self.io_failing = io_failed
        if io_failed:
            self.last_error = str(outcomes[0])
        else:
            self._wal.after_commit(self._conn)
        return outcomes

    def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Run `fn` on the writer thread between batches (maintenance, checks)."""
        loop = asyncio.get_running_loop()
        return loop.run_in_executor(self._executor, fn, self._conn)

    def stats(self) -> dict[str, Any]:
        return {
            "queue_depth": self.queue_depth,
            "queue_max": self._queue_max,
            "batches": self.batches,
            "rows": self.rows,
            "avg_batch_size": round((self.rows + self.errors) / self.batches, 2)
            if self.batches
            else 0.0,
            "errors": self.errors,
            "io_failing": self.io_failing,
            "last_error": self.last_error,
        }
