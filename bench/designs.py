"""The write designs we compare: ours (AsyncDatabase) and the two baselines.

Every design exposes `open()`, `add(*args) -> int` with the arguments of
`add_message_log_async`, `rows_per_commit()` and `close()`, and writes the same rows with
the same SQL statement shape into a database created by `AsyncDatabase.init()` (our
schema: unique key, trigram full-text index and all), so only the write path differs.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiosqlite

from storage import AsyncDatabase
from storage.message_logs import UPSERT
from storage.timeutil import now_ms

# The same one-row statement AsyncDatabase runs for a lone write.
ONE_ROW = UPSERT.single()
# The older runtime read its id back later with last_insert_rowid(): no RETURNING.
ONE_ROW_NO_RETURNING = ONE_ROW.split(" RETURNING ")[0]


def _row(args: tuple[Any, ...]) -> tuple[Any, ...]:
    mid, chan, content, mtype, sender, plat, tchan, status, err, lat = args
    now = now_ms()
    return (str(mid), plat, str(tchan), str(chan), content, mtype, sender, status, err, lat,
            now, now)


# Our writer indexes new rows for search in chunks (storage/fts_tail.py). A baseline
# has no such writer, so its rows are indexed as they are inserted, by the schema's own
# trigger: with the mark at the top, every new row counts as below it.
INDEX_EVERY_ROW = "UPDATE fts_progress SET indexed_to = 9223372036854775807"


async def _aiosqlite_connect(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path)
    # Same durability as AsyncDatabase (WAL, synchronous=NORMAL): only the write path differs.
    for pragma in ("busy_timeout = 5000", "journal_mode = WAL", "synchronous = NORMAL",
                   "foreign_keys = ON"):
        await conn.execute(f"PRAGMA {pragma}")
    await conn.execute(INDEX_EVERY_ROW)
    await conn.commit()
    return conn


class Ours:
    """storage.AsyncDatabase, through the older runtime's call."""

    def __init__(self, path: Path, **options: Any) -> None:
        self.db = AsyncDatabase(path, **options)
        self._base: dict[str, Any] = {}

    async def open(self) -> None:
        await self.db.init()
        self._base = dict(self.db.stats()["writer"])

    async def add(self, *args: Any) -> int:
        return await self.db.add_message_log_async(*args)

    def rows_per_commit(self) -> float | None:
        writer = self.db.stats()["writer"]
        batches = writer["batches"] - self._base.get("batches", 0)
        rows = writer["rows"] + writer["errors"] - self._base.get("rows", 0)
        return round(rows / batches, 2) if batches else None

    def writer_stats(self) -> dict[str, Any]:
        return dict(self.db.stats()["writer"])

    async def close(self) -> None:
        await self.db.close()


class Naive:
    """One aiosqlite connection, commit per write (concurrent callers interleave)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: aiosqlite.Connection | None = None
        self.commits = 0
        self.rows = 0

    async def open(self) -> None:
        self.conn = await _aiosqlite_connect(self.path)

    async def add(self, *args: Any) -> int:
        assert self.conn is not None
        rows = await self.conn.execute_fetchall(ONE_ROW, _row(args))
        self.rows += 1
        if self.conn.in_transaction:  # another caller's commit may already have taken ours
            self.commits += 1
        await self.conn.commit()
        return int(next(iter(rows))[0])

    def rows_per_commit(self) -> float | None:
        return round(self.rows / self.commits, 2) if self.commits else None

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


class LegacyBatcher:
    """The older runtime's batcher, bug included.

    It wanted "10 items or 100 ms", but the 100 ms timeout only restarts the wait for the
    next item: a batch commits only once 10 items are waiting, so a lone write (or the
    last few of a run that is not a multiple of 10) waits forever. Items run one
    statement (one thread round trip) each, one commit per batch, and each caller then
    reads its id with last_insert_rowid() on the shared connection, as the old code did.
    """

    BATCH = 10
    TIMEOUT = 0.1

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: aiosqlite.Connection | None = None
        self.queue: asyncio.Queue[tuple[tuple[Any, ...], asyncio.Future[bool]]] = (
            asyncio.Queue()
        )
        self.task: asyncio.Task[None] | None = None
        self.commits = 0
        self.rows = 0

    async def open(self) -> None:
        self.conn = await _aiosqlite_connect(self.path)
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        assert self.conn is not None
        while True:
            batch: list[tuple[tuple[Any, ...], asyncio.Future[bool]]] = []
            while len(batch) < self.BATCH:
                try:
                    batch.append(await asyncio.wait_for(self.queue.get(), self.TIMEOUT))
                except TimeoutError:
                    continue  # the bug: the partial batch is never flushed
            try:
                for params, _ in batch:
                    await self.conn.execute(ONE_ROW_NO_RETURNING, params)
                await self.conn.commit()
                ok = True
            except Exception:
                await self.conn.rollback()
                ok = False  # one bad row failed the whole batch, silently
            self.commits += 1
            self.rows += len(batch)
            for _, fut in batch:
                if not fut.done():
                    fut.set_result(ok)

    async def add(self, *args: Any) -> int:
        assert self.conn is not None
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self.queue.put((_row(args), fut))
        await fut
        rows = await self.conn.execute_fetchall("SELECT last_insert_rowid()")
        return int(next(iter(rows))[0])

    def rows_per_commit(self) -> float | None:
        return round(self.rows / self.commits, 2) if self.commits else None

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.conn is not None:
            await self.conn.close()


def make(design: str, path: Path) -> Ours | Naive | LegacyBatcher:
    if design == "ours_default":
        return Ours(path)
    if design == "ours_flush0":
        return Ours(path, flush_interval=0)
    if design == "naive":
        return Naive(path)
    if design == "legacy":
        return LegacyBatcher(path)
    raise ValueError(f"unknown design {design!r}")
