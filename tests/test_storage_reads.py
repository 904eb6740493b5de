"""The read pool and the WAL through the public AsyncDatabase API."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from storage import AsyncDatabase, QueryTimeout

pytestmark = pytest.mark.engines("sqlite", "postgres")

# About 30-80 ms of pure SQLite work; sqlite3 releases the GIL while it runs. The reader's
# name (text: PostgreSQL types the parameter once) makes each reader's read distinct.
SLOW_READ = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000) "
    "SELECT count(*) AS n, CAST(? AS text) AS reader FROM c"
)
RUNAWAY_READ = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
)


async def test_reads_return_dicts(db: AsyncDatabase) -> None:
    assert await db.execute_read("SELECT 1 AS a, 'x' AS b") == [{"a": 1, "b": "x"}]
    assert await db.execute_one("SELECT 2 AS a WHERE 1 = 0") is None


async def test_read_connections_refuse_writes(db: AsyncDatabase) -> None:
    from storage import StorageError

    try:
        await db.execute_read("INSERT INTO accounts (email) VALUES ('x@y.z')")
    except StorageError:
        pass
    else:
        raise AssertionError("a read connection accepted a write")
    assert await db.execute_read("SELECT count(*) AS n FROM accounts") == [{"n": 0}]


async def test_pool_grows_under_concurrent_slow_reads_within_max(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, read_pool_min=1, read_pool_max=3) as db:
        sizes: list[int] = []
        stop = time.monotonic() + 4.0

        async def reader(name: int) -> None:
            while time.monotonic() < stop:
                await db.execute_read(SLOW_READ, (str(name),))  # distinct reads: none shared
                sizes.append(db.stats()["read_pool"]["size"])

        await asyncio.gather(*(reader(n) for n in range(6)))
        assert max(sizes) > 1, "the pool never grew while six readers waited"
        assert max(sizes) <= 3


# read_idle_timeout is the SQLite pool's (asyncpg's pool keeps its connections).
@pytest.mark.engines("sqlite")
async def test_pool_shrinks_to_min_after_idle_timeout(db_path: Path) -> None:
    async with AsyncDatabase(
        db_path, read_pool_min=1, read_pool_max=4, read_idle_timeout=0.3
    ) as db:
        stop = time.monotonic() + 3.0
        grown = 0

        async def reader(name: int) -> None:
            nonlocal grown
            while time.monotonic() < stop:
                await db.execute_read(SLOW_READ, (str(name),))
                grown = max(grown, db.stats()["read_pool"]["size"])

        await asyncio.gather(*(reader(n) for n in range(6)))
        for _ in range(50):
            if db.stats()["read_pool"]["size"] == 1:
                break
            await asyncio.sleep(0.1)
        assert grown > 1
        assert db.stats()["read_pool"]["size"] == 1


async def test_runaway_read_times_out_and_its_connection_is_reused(db_target: str | Path) -> None:
    async with AsyncDatabase(
        db_target, read_pool_min=1, read_pool_max=1, query_timeout=0.3
    ) as db:
        try:
            await asyncio.wait_for(db.execute_read(RUNAWAY_READ), timeout=10)
        except QueryTimeout:
            pass
        else:
            raise AssertionError("runaway read was not interrupted")
        assert await db.execute_read("SELECT 7 AS n") == [{"n": 7}]
        stats = db.stats()["read_pool"]
        assert stats["size"] == 1 and stats["timeouts"] == 1


async def test_cancelled_reader_returns_its_connection(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, read_pool_min=1, read_pool_max=1) as db:
        task = asyncio.create_task(db.execute_read(RUNAWAY_READ))
        await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # The runaway read is interrupted on cancel, so the single connection is free.
        assert await asyncio.wait_for(db.execute_read("SELECT 1 AS n"), 5) == [{"n": 1}]
        assert db.stats()["read_pool"]["in_use"] == 0


async def test_waiting_readers_are_served_in_order(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, read_pool_min=1, read_pool_max=1) as db:
        finished: list[int] = []

        async def read(n: int) -> None:
            await db.execute_read(SLOW_READ, (str(n),))
            finished.append(n)

        tasks = []
        for n in range(6):
            tasks.append(asyncio.create_task(read(n)))
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
        assert finished == sorted(finished)


async def test_reads_do_not_wait_for_queued_writes(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, flush_interval=0.05, queue_max=100_000) as db:
        writes = [
            asyncio.create_task(
                db.add_message_log_async(f"m{n}", "c", "x" * 200, "1", "s", "tg", "t", "success")
            )
            for n in range(20_000)
        ]
        await asyncio.sleep(0)
        assert db.stats()["writer"]["queue_depth"] > 1000
        await db.execute_read("SELECT count(*) AS n FROM message_logs")
        # The read finished while thousands of writes were still queued behind the writer.
        assert db.stats()["writer"]["queue_depth"] > 0
        await asyncio.gather(*writes)


# SQLite's WAL file.
@pytest.mark.engines("sqlite")
async def test_wal_stays_bounded_under_continuous_reads_and_writes(db_path: Path) -> None:
    # 30,000 rows of 400 bytes are well past the 24 MB at which the writer rewinds the WAL,
    # written while readers never stop: a count of writes, not a timed soak (bench/ has it).
    total = 30_000
    async with AsyncDatabase(db_path, flush_interval=0) as db:
        wal = Path(f"{db_path}-wal")
        peak = 0
        keys = iter(range(total))
        done = False

        async def writer() -> None:
            for n in keys:
                await db.add_message_log_async(
                    f"w-{n}", "chan", "y" * 400, "1", "bob", "tg", "t", "success"
                )

        async def reader() -> None:
            while not done:
                await db.execute_read(
                    "SELECT * FROM message_logs ORDER BY created_at DESC LIMIT 50"
                )

        async def sampler() -> None:
            nonlocal peak
            while not done:
                peak = max(peak, wal.stat().st_size if wal.exists() else 0)
                await asyncio.sleep(0.02)

        async def writers() -> None:
            nonlocal done
            try:
                await asyncio.gather(*(writer() for _ in range(100)))
            finally:
                done = True

        async with asyncio.timeout(300):  # fails instead of hanging
            await asyncio.gather(writers(), *(reader() for _ in range(8)), sampler())
        stats = db.stats()["wal"]
        assert stats["checkpoints"] > 0
        assert peak < 64 * 1024 * 1024, f"WAL peaked at {peak / 2**20:.1f} MB"
        assert os.path.getsize(wal) < 64 * 1024 * 1024
