"""The single writer: a bounded queue drained in batches by one dedicated thread.

The batching loop runs on the writer thread itself (as in datasette), not on the event
loop: under load the loop is busy with requests, and a writer coroutine waiting for its
turn there stretched every batch cycle. The loop only enqueues and receives results,
one callback per batch.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..errors import (
    StorageClosedError,
    StorageError,
    StorageIOError,
    StorageOverloaded,
    WriterStopped,
)
from ..interfaces import BulkUpsert, WriteResult
from .batch import Outcome, WriteItem, run_batch
from .checkpoint import WalKeeper
from .error_codes import translate
from .fts_tail import FtsTail
from .id_mark import IdMark
from .room import Room

T = TypeVar("T")
# storage/ does not configure logging; the application does (stdlib falls back to stderr).
log = logging.getLogger("msglog.storage")
# The caller resumes one event-loop turn after its result is set.
WAKE_MARGIN = 0.0005


class _Call:
    """Maintenance work for the writer thread, run between batches."""

    __slots__ = ("fn", "future")

    def __init__(self, fn: Callable[[sqlite3.Connection], Any], future: asyncio.Future[Any]):
        self.fn = fn
        self.future = future


class _IndexTail:
    """Work for an idle writer: the full-text tail is due."""


INDEX_TAIL = _IndexTail()


class Writer:
    """Owns the write connection; commits queued items in batches, one result per caller."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        wal: WalKeeper,
        *,
        batch_size: int,
        flush_interval: float,
        batch_max: int,
        queue_max: int,
        enqueue_timeout: float,
        on_batch: Callable[[int, float], None] | None = None,
        fts: FtsTail | None = None,
        ids: IdMark | None = None,
    ) -> None:
        self._conn = conn
        self._wal = wal
        self.fts = fts or FtsTail()
        self._ids = ids
        self._batch_size = max(1, batch_size)
        self._flush_interval = max(0.0, flush_interval)
        self._batch_max = max(1, batch_max)
        self._queue_max = max(1, queue_max)
        self._enqueue_timeout = enqueue_timeout
        self._on_batch = on_batch
        self._pending: deque[WriteItem | _Call] = deque()
        self._cond = threading.Condition()
        self._slots = Room(self._queue_max)
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._done = asyncio.Event()
        self._thread = threading.Thread(target=self._main, name="msglog-writer", daemon=True)
        self._in_flight = 0
        # Group commit: items enqueued in one event-loop turn are one burst, and the turn
        # after it says the burst is over. The writer waits for company only until then
        # (bounded by the batch size and the flush interval), so a lone write to an idle
        # writer commits at once and a burst of producers shares one commit.
        self._enqueued = 0  # items and calls ever enqueued
        self._taken = 0  # ... and ever taken off the queue by the writer
        self._burst_seen = 0  # `_enqueued` when the loop last said a burst was over
        self._burst_hint = False
        self._planned: float | None = None
        self._commit_estimate = 0.001  # refined by every lone batch
        self.batches = 0
        # Bumped on the writer thread after every commit, before anyone is told of it.
        self.generation = 0
        self.rows = 0
        self.errors = 0
        self.io_failing = False
        self.last_error: str | None = None
        # Set once if the thread ended by a bug: every write fails from then on.
        self.stopped: str | None = None
        # When the work running now (a batch, a call, a catch-up) began; None between.
        self._busy_since: float | None = None

    def start(self) -> None:
        self._thread.start()

    # -- the event loop's side -----------------------------------------------------

    async def submit(
        self, sql: str, params: Sequence[Any] = (), bulk: BulkUpsert | None = None
    ) -> WriteResult:
        """Queue one write and wait for its own result after COMMIT."""
        # The usual case takes its place without a coroutine of its own (one per ingest).
        if not self._take_place():
            await self._wait_for_place()
        item = WriteItem(sql, params, bulk, time.monotonic(), self._loop.create_future())
        self._enqueue(item)
        # Cancelling this await does not unqueue the write: the writer still commits it.
        result: WriteResult = await item.future
        return result

    async def run_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the writer thread between batches (maintenance, checks)."""
        await self._reserve()
        future: asyncio.Future[T] = self._loop.create_future()
        self._enqueue(_Call(fn, future))
        return await future

    async def _reserve(self) -> None:
        """Take a place in the queue: at once if one is free, else wait for one."""
        if not self._take_place():
            await self._wait_for_place()

    def _take_place(self) -> bool:
        """A place in the queue if one is free now; raises if writes are refused."""
        if self.stopped is not None:
            raise WriterStopped(self.stopped)
        if self._closing:
            raise StorageClosedError("database is closed; write refused")
        return self._slots.try_take()

    async def _wait_for_place(self) -> None:
        try:
            async with asyncio.timeout(self._enqueue_timeout):
                await self._slots.take()
        except TimeoutError:
            raise StorageOverloaded(
                f"write queue full ({self._queue_max} waiting) "
                f"for {self._enqueue_timeout:g}s",
                retry_after=max(1.0, self._enqueue_timeout),
            ) from None
        if self._closing:
            self._slots.give()
            raise StorageClosedError("database closed while the write waited for room")

    def _enqueue(self, item: WriteItem | _Call) -> None:
        with self._cond:
            self._pending.append(item)
            self._enqueued += 1
            waiting = len(self._pending)
            # The thread sleeps until the burst is over, a batch is full, or the deadline.
            full = min(self._batch_size, self._queue_max)
            eager = waiting == 1 and self._flush_interval == 0
            if eager or waiting >= full or isinstance(item, _Call):
                self._cond.notify()
        if not self._burst_hint:
            self._burst_hint = True
            # Runs after every callback already scheduled: the producers woken together
            # (by one batch's acknowledgements, or one read of the sockets) have enqueued.
            self._loop.call_soon(self._burst_over)

    def _burst_over(self) -> None:
        self._burst_hint = False
        with self._cond:
            self._burst_seen = self._enqueued
            if self._burst_seen > self._taken:
                self._cond.notify()

    def _deliver(self, batch: list[WriteItem], outcomes: list[Outcome], seconds: float) -> None:
        for item, outcome in zip(batch, outcomes, strict=True):
            self._slots.give()
            if item.future.done():
                continue
            if isinstance(outcome, StorageError):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)
        if self._on_batch is not None:
            self._on_batch(len(batch), seconds)

    def _deliver_call(self, call: _Call, ok: bool, value: Any) -> None:
        self._slots.give()
        if call.future.done():
            return
        if ok:
            call.future.set_result(value)
        else:
            call.future.set_exception(value)

    @property
    def queue_depth(self) -> int:
        return len(self._pending) + self._in_flight

    def problem(self, stall_after: float) -> str | None:
        """Why writes cannot commit now: a stopped thread, or no progress while work waits."""
        if self.stopped is not None:
            return self.stopped
        now = time.monotonic()
        busy = self._busy_since
        if busy is not None and now - busy > stall_after:
            return f"writer wedged: the same batch has run for {now - busy:.0f} s"
        head = self._pending[0] if self._pending else None
        if isinstance(head, WriteItem) and now - head.enqueued_at > stall_after:
            return (f"writer wedged: {len(self._pending)} writes waiting, the oldest for "
                    f"{now - head.enqueued_at:.0f} s")
        return None

    async def close(self) -> None:
        """Refuse new writes, commit everything queued, stop the thread."""
        self._closing = True
        with self._cond:
            self._cond.notify()
        if self._thread.is_alive():
            await asyncio.shield(self._done.wait())

    # -- the writer thread ---------------------------------------------------------

    def _main(self) -> None:
        try:
            while True:
                work = self._next_work()
                if work is None:
                    if self.fts.pending:
                        self._index_tail()  # a clean close leaves no tail behind
                    return
                if isinstance(work, _Call):
                    self._run_call(work)  # a pause of its own: the tail waits a gap
                    continue
                if isinstance(work, _IndexTail):
                    self._index_tail()
                    continue
                self._run_batch(work)
                # Its callers are answered already: the loop reads them while the WAL is
                # checked and the tail indexed. At most one pause per gap between batches:
                # a RESTART checkpoint and a catch-up back to back made 60-90 ms waits.
                paused = not self.io_failing and self._after_commit()
                now = time.monotonic()
                if self.fts.due(now) and (not paused or self.fts.overdue(now)):
                    self._index_tail()
        except Exception as exc:
            self.last_error = self.stopped = f"writer stopped: {exc!r}"
            log.exception("msglog writer thread stopped")
        finally:
            # Only a bug gets here with work left: fail it loudly rather than strand it.
            self._closing = True
            with self._cond:
                stranded = list(self._pending)
                self._pending.clear()
            if stranded:
                self._loop.call_soon_threadsafe(self._fail_stranded, stranded)
            self._loop.call_soon_threadsafe(self._done.set)

    def _fail_stranded(self, stranded: list[WriteItem | _Call]) -> None:
        for item in stranded:
            self._slots.give()
            if not item.future.done():
                item.future.set_exception(WriterStopped(self.stopped or "the writer stopped"))

    def _next_work(self) -> list[WriteItem] | _Call | _IndexTail | None:
        """Block until there is a batch to commit (or a call to run); None at the end."""
        with self._cond:
            while not self._pending:
                if self._closing:
                    return None
                idle = self.fts.seconds_until_due(time.monotonic())
                if idle is not None and idle <= 0:
                    return INDEX_TAIL
                self._cond.wait(idle)
            first = self._pending[0]
            if isinstance(first, _Call):
                self._pending.popleft()
                self._taken += 1
                return first
            # Start early by what waking up and committing a small batch takes, so the
            # acknowledgement itself lands within the flush interval.
            lead = min(self._commit_estimate + WAKE_MARGIN, self._flush_interval / 2)
            deadline = first.enqueued_at + self._flush_interval - lead
            timed_out = False
            while (
                not self._closing
                and self._burst_seen <= self._taken  # the first item's burst goes on
                and len(self._pending) < self._batch_size
                and len(self._pending) < self._queue_max
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    timed_out = True
                    break
                self._cond.wait(remaining)
            batch: list[WriteItem] = []
            while self._pending and len(batch) < self._batch_max:
                head = self._pending[0]
                if isinstance(head, _Call):
                    break
                batch.append(head)
                self._pending.popleft()
            self._taken += len(batch)
            self._in_flight = len(batch)
        if timed_out and len(batch) <= self._batch_size:
            self._planned = deadline
        else:
            self._planned = None
        return batch

    def _run_batch(self, batch: list[WriteItem]) -> None:
        started = time.perf_counter()
        self._busy_since = time.monotonic()
        try:
            outcomes = run_batch(self._conn, batch)
        except Exception as exc:  # a bug in the batch path must not strand its callers
            outcomes = [StorageError(f"writer failed: {exc!r}")] * len(batch)
        finally:
            self._busy_since = None
        io_failed = bool(outcomes) and all(isinstance(o, StorageIOError) for o in outcomes)
        self.io_failing = io_failed
        if io_failed:
            self.last_error = str(outcomes[0])
        failed = sum(1 for o in outcomes if isinstance(o, StorageError))
        self.fts.note_written(len(batch) - failed)
        self.generation += 1
        self.batches += 1
        self.rows += len(batch) - failed
        self.errors += failed
        self._in_flight = 0
        seconds = time.perf_counter() - started
        if self._planned is not None:
            took = time.monotonic() - self._planned
            self._commit_estimate += (took - self._commit_estimate) / 8
        self._loop.call_soon_threadsafe(self._deliver, batch, outcomes, seconds)

    def _index_tail(self) -> None:
        self.fts.catch_up(self._conn)
        if self.fts.last_error is not None:
            # Searches stay complete (they read the tail); the index only lags behind.
            log.warning("msglog %s; retrying later", self.fts.last_error)
        self._after_commit(may_pause=False)

    def _after_commit(self, may_pause: bool = True) -> bool:
        """Let the WAL keeper look at the WAL; True if it paused for a checkpoint."""
        if self._ids is not None:
            self._ids.after_commit(self._conn)
        try:
            return self._wal.after_commit(self._conn, may_pause)
        except sqlite3.Error as exc:
            self._wal.note_failure("writer", exc)
            return False  # a missed checkpoint is retried after the next commit

    def _run_call(self, call: _Call) -> None:
        self._busy_since = time.monotonic()
        try:
            value: Any = call.fn(self._conn)
            ok = True
        except sqlite3.Error as exc:
            value, ok = translate(exc), False
        except Exception as exc:
            value, ok = exc, False
        finally:
            self._busy_since = None
        self.generation += 1
        self._loop.call_soon_threadsafe(self._deliver_call, call, ok, value)

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
            "fts_tail": self.fts.stats(),
            "last_error": self.last_error,
            "stopped": self.stopped,
        }
