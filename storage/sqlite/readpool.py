"""Read-only connection pool: one thread per connection, sized by what it measures."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any, Generic, TypeVar

from ..errors import QueryTimeout, StorageClosedError, StorageError
from .conn import open_reader
from .error_codes import is_interrupt, translate
from .sizing import ConcurrencyTuner

T = TypeVar("T")
ReadFn = Callable[[sqlite3.Connection], T]

# Several queued short reads go to a free connection in one thread round trip.
READS_PER_TRIP = 8
# Writes come first: while this many writes wait, each read first waits READ_YIELD_S.
# Unchecked, 20 looping readers held writes to a third of the plain-sqlite3 limit while
# served 6k reads/s, far beyond what any dashboard needs; a pause in the read threads
# did little, as most reads share one run and cost the event loop, not SQLite.
WRITE_BACKLOG_DEEP = 32
READ_YIELD_S = 0.007


class ReadJob(Generic[T]):
    __slots__ = (
        "abandoned", "fn", "followers", "future", "generation", "key", "queued_at", "share",
        "started", "timed_out", "timer",
    )

    def __init__(self, fn: ReadFn[T], future: asyncio.Future[T], queued_at: float) -> None:
        self.fn = fn
        self.future = future
        self.queued_at = queued_at
        self.key: Hashable | None = None
        self.share: Callable[[T], T] | None = None
        # Callers that joined this read instead of running their own; see ReadPool.run.
        self.followers: list[asyncio.Future[T]] = []
        self.generation = -1
        self.started: float | None = None
        self.timed_out = False
        self.abandoned = False
        self.timer: asyncio.TimerHandle | None = None

    def wanted(self) -> bool:
        """Some caller still waits for this read's result."""
        return not self.future.done() or any(not f.done() for f in self.followers)

    def settle(self, ok: bool, value: Any) -> None:
        for index, future in enumerate([self.future, *self.followers]):
            if future.done():
                continue
            if not ok:
                future.set_exception(value)
            elif index and self.share is not None:
                future.set_result(self.share(value))
            else:
                future.set_result(value)


class ReadConn:
    """A read-only connection owned by its own thread; runs trips of jobs in order."""

    def __init__(self, pool: ReadPool, path: Path, name: str) -> None:
        self._pool = pool
        self._path = path
        self._trips: queue.SimpleQueue[list[ReadJob[Any]] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.current: ReadJob[Any] | None = None
        self.broken = False
        self.busy = False
        self.last_used = time.monotonic()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def send(self, trip: list[ReadJob[Any]]) -> None:
        self.busy = True
        self._trips.put(trip)

    def stop(self) -> None:
        self._trips.put(None)

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def interrupt_if_running(self, job: ReadJob[Any]) -> bool:
        """Interrupt `job` only if it is the statement running now (never its successor)."""
        with self._lock:
            if self.current is job and self._conn is not None:
                self._conn.interrupt()
                return True
        return False

    def _main(self) -> None:
        loop = self._pool.loop
        try:
            self._conn = open_reader(self._path)
        except StorageError as exc:
            self._conn = None
            self.broken = True
            opened_error: StorageError | None = exc
        else:
            opened_error = None
        while True:
            trip = self._trips.get()
            if trip is None:
                break
            results: list[tuple[bool, Any]] = []
            for job in trip:
                if opened_error is not None:
                    results.append((False, opened_error))
                    continue
                results.append(self._run(job))
            loop.call_soon_threadsafe(self._pool._trip_done, self, trip, results)
        if self._conn is not None:
            self._conn.close()

    def _run(self, job: ReadJob[Any]) -> tuple[bool, Any]:
        assert self._conn is not None
        if job.abandoned:
            return (False, None)
        # Before the statement takes its snapshot: every commit counted here is in it.
        job.generation = self._pool.generation()
        with self._lock:
            job.started = time.monotonic()
            self.current = job
        try:
            return (True, job.fn(self._conn))
        except sqlite3.Error as exc:
            if is_interrupt(exc) and job.timed_out:
                limit = self._pool.query_timeout
                return (False, QueryTimeout(f"read interrupted after {limit:g}s"))
            return (False, translate(exc))
        except Exception as exc:
            return (False, exc)
        finally:
            with self._lock:
                self.current = None
            if self._conn.in_transaction:
                # A read never keeps its snapshot past the trip: it would pin the WAL.
                self._conn.execute("ROLLBACK")


class ReadPool:
    """Adaptive pool: grows while waiting readers are served faster by it, shrinks idle."""

    def __init__(
        self,
        path: Path,
        *,
        min_size: int,
        max_size: int,
        idle_timeout: float,
        query_timeout: float,
        writes_done: Callable[[], int] | None = None,
        generation: Callable[[], int] | None = None,
        write_backlog: Callable[[], int] | None = None,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.write_backlog = write_backlog or (lambda: 0)
        self.generation = generation or (lambda: 0)
        self._shared: dict[Hashable, ReadJob[Any]] = {}
        self._path = path
        self.min_size = max(1, min_size)
        self.max_size = max(self.min_size, max_size)
        self.idle_timeout = idle_timeout
        self.query_timeout = query_timeout
        self._conns: list[ReadConn] = []
        self._waiting: deque[ReadJob[Any]] = deque()
        # Reads at once may drop below the connections kept open: on two cores a single
        # busy reader often serves waiting readers and the writer best.
        self._tuner = ConcurrencyTuner(
            1, self.max_size, start=self.min_size, writes_done=writes_done
        )
        self._closed = False
        self._drained = asyncio.Event()
        self._serial = 0
        self._reaper: asyncio.Task[None] | None = None
        self.waits = 0
        self.wait_seconds = 0.0
        self.reads = 0
        self.shared_reads = 0
        self.timeouts = 0
        self.yields = 0
        for _ in range(self.min_size):
            self._open()

    def start(self) -> None:
        self._reaper = self.loop.create_task(self._reap_idle(), name="msglog-read-reaper")

    def _open(self) -> ReadConn:
        self._serial += 1
        conn = ReadConn(self, self._path, f"msglog-read-{self._serial}")
        self._conns.append(conn)
        return conn

    async def run(
        self,
        fn: ReadFn[T],
        key: Hashable | None = None,
        share: Callable[[T], T] | None = None,
    ) -> T:
        """Run `fn` on a read connection; callers asking the same `key` may share one run.

        A caller joins an identical read only if that read's snapshot will hold every
        commit acknowledged so far: it has not started yet, or no commit has landed since
        it started. Each joiner gets `share(result)`, its own copy.
        """
        if self._closed:
            raise StorageClosedError("database is closed; read refused")
        if self.write_backlog() >= WRITE_BACKLOG_DEEP:
            self.yields += 1
            await asyncio.sleep(READ_YIELD_S)
        future: asyncio.Future[T] = self.loop.create_future()
        if key is not None:
            running = self._shared.get(key)
            if (
                running is not None
                and not running.abandoned
                and running.wanted()
                and (running.started is None or running.generation == self.generation())
            ):
                running.followers.append(future)
                self.shared_reads += 1
                return await self._wait(running, future)
        job = ReadJob(fn, future, time.monotonic())
        if key is not None:
            job.key, job.share = key, share
            self._shared[key] = job
        self._waiting.append(job)
        self._dispatch()
        if not job.future.done() and job.started is None and job in self._waiting:
            self.waits += 1
            self._tuner.note_wait()
        return await self._wait(job, future)

    async def _wait(self, job: ReadJob[T], future: asyncio.Future[T]) -> T:
        try:
            return await future
        except asyncio.CancelledError:
            if not job.wanted():
                job.abandoned = True
                for conn in self._conns:
                    if conn.interrupt_if_running(job):
                        break
            raise

    def _dispatch(self) -> None:
        limit = self._tuner.target
        in_use = sum(1 for c in self._conns if c.busy)
        while self._waiting and in_use < limit:
            conn = next((c for c in self._conns if not c.busy), None)
            if conn is None:
                if len(self._conns) >= self.max_size:
                    return
                conn = self._open()
            trip: list[ReadJob[Any]] = []
            while self._waiting and len(trip) < READS_PER_TRIP:
                job = self._waiting.popleft()
                if not job.wanted():  # cancelled while waiting: never runs
                    self._forget(job)
                    continue
                trip.append(job)
                job.timer = self.loop.call_later(
                    self.query_timeout, self._check_timeout, conn, job
                )
            if not trip:
                return
            now = time.monotonic()
            for job in trip:
                self.wait_seconds += now - job.queued_at
            conn.send(trip)
            in_use += 1

    def _forget(self, job: ReadJob[Any]) -> None:
        if job.key is not None and self._shared.get(job.key) is job:
            del self._shared[job.key]

    def _check_timeout(self, conn: ReadConn, job: ReadJob[Any]) -> None:
        if not job.wanted() and not job.abandoned:
            return
        started = job.started
        if started is None:  # still queued behind others in its trip
            job.timer = self.loop.call_later(self.query_timeout, self._check_timeout, conn, job)
            return
        remaining = started + self.query_timeout - time.monotonic()
        if remaining > 0:
            job.timer = self.loop.call_later(remaining, self._check_timeout, conn, job)
            return
        job.timed_out = True
        if conn.interrupt_if_running(job):
            self.timeouts += 1

    def _trip_done(self, conn: ReadConn, trip: list[ReadJob[Any]], results: list[Any]) -> None:
        conn.busy = False
        conn.last_used = time.monotonic()
        for job, (ok, value) in zip(trip, results, strict=True):
            self.reads += 1
            if job.timer is not None:
                job.timer.cancel()
            self._forget(job)
            job.settle(ok, value)
        self._tuner.note_done(len(trip), bool(self._waiting))
        if conn.broken and not self._closed:
            # It could not open: drop it, the next dispatch opens a fresh one.
            conn.stop()
            self._conns.remove(conn)
        if self._closed:
            if conn in self._conns:
                conn.stop()
                self._conns.remove(conn)
            if not self._conns:
                self._drained.set()
            return
        self._dispatch()

    async def _reap_idle(self) -> None:
        interval = max(0.05, min(self.idle_timeout / 4, 5.0))
        while not self._closed:
            await asyncio.sleep(interval)
            now = time.monotonic()
            for conn in list(self._conns):
                if len(self._conns) <= self.min_size:
                    break
                if not conn.busy and now - conn.last_used >= self.idle_timeout:
                    self._conns.remove(conn)
                    conn.stop()

    async def close(self) -> None:
        self._closed = True
        self._shared.clear()
        if self._reaper is not None:
            self._reaper.cancel()
        while self._waiting:
            job = self._waiting.popleft()
            job.settle(False, StorageClosedError("database closed"))
        # Busy connections stop when their trip comes back; idle ones stop now.
        every = list(self._conns)
        for conn in [c for c in self._conns if not c.busy]:
            self._conns.remove(conn)
            conn.stop()
        if self._conns:
            # Every running read is interrupted at query_timeout, so this wait is bounded.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), self.query_timeout + 1)
        # Wait until their threads have closed the connections: the writer must close
        # last, or SQLite cannot remove the -wal and -shm files behind it.
        def join_all() -> None:
            for conn in every:
                conn.join(self.query_timeout + 1)

        await asyncio.to_thread(join_all)

    def oldest_read_started(self) -> float | None:
        """When the longest-running read began (monotonic); None if none runs. Any thread."""
        starts = [job.started for c in list(self._conns) if (job := c.current) is not None]
        return min((t for t in starts if t is not None), default=None)

    def stats(self) -> dict[str, Any]:
        in_use = sum(1 for c in self._conns if c.busy)
        return {
            "size": len(self._conns),
            "in_use": in_use,
            "idle": len(self._conns) - in_use,
            "waiting": len(self._waiting),
            "min": self.min_size,
            "max": self.max_size,
            "target": self._tuner.target,
            "reads": self.reads,
            "shared_reads": self.shared_reads,
            "waits": self.waits,
            "wait_seconds": round(self.wait_seconds, 4),
            "timeouts": self.timeouts,
            "yields_to_writes": self.yields,
        }
