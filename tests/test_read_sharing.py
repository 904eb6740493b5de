"""Identical reads in flight run once, and never hand back a result older than an ack."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import AsyncDatabase

pytestmark = pytest.mark.engines("sqlite", "postgres")

# Counts the rows in one snapshot, then spends a while, so reads overlap.
SLOW_COUNT = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) "
    "SELECT (SELECT count(*) FROM message_logs) AS n, count(*) AS spent FROM c"
)


async def add(db: AsyncDatabase, key: str) -> int:
    return await db.add_message_log_async(key, "c", "text", "text", "s", "tg", "t", "success")


async def until_running(db: AsyncDatabase) -> None:
    for _ in range(200):
        if db.stats()["read_pool"]["in_use"]:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the read never started")


async def test_identical_reads_in_flight_run_once(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, read_pool_min=1, read_pool_max=1) as db:
        results = await asyncio.gather(*(db.execute_read(SLOW_COUNT) for _ in range(5)))
        assert all(r == [{"n": 0, "spent": 400000}] for r in results)
        stats = db.stats()["read_pool"]
        assert stats["reads"] == 1
        assert stats["shared_reads"] == 4


async def test_each_caller_of_a_shared_read_gets_its_own_rows(db: AsyncDatabase) -> None:
    first, second = await asyncio.gather(db.execute_read(SLOW_COUNT), db.execute_read(SLOW_COUNT))
    first[0]["n"] = 99
    first.append({"n": -1})
    assert second == [{"n": 0, "spent": 400000}]


async def test_a_read_after_an_ack_does_not_join_an_older_read(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, read_pool_min=1, read_pool_max=1,
                             flush_interval=0) as db:
        older = asyncio.create_task(db.execute_read(SLOW_COUNT))
        await until_running(db)
        await add(db, "m-1")  # acknowledged: committed while the older read runs
        newer = await db.execute_read(SLOW_COUNT)
        assert (await older)[0]["n"] == 0
        assert newer[0]["n"] == 1
        assert db.stats()["read_pool"]["shared_reads"] == 0


async def test_reads_with_different_values_are_not_shared(db: AsyncDatabase) -> None:
    sql = "SELECT CAST(? AS text) AS v"
    results = await asyncio.gather(*(db.execute_read(sql, (v,)) for v in ("1", "2", "1 ")))
    assert [r[0]["v"] for r in results] == ["1", "2", "1 "]
    assert db.stats()["read_pool"]["shared_reads"] == 0


# SQLite binds a value of any type to an untyped `?`; PostgreSQL types it once (text here).
@pytest.mark.engines("sqlite")
async def test_reads_with_different_parameters_are_not_shared(db: AsyncDatabase) -> None:
    sql = "SELECT ? AS v"
    results = await asyncio.gather(db.execute_read(sql, (1,)), db.execute_read(sql, (1.0,)),
                                   db.execute_read(sql, ("1",)), db.execute_read(sql, (2,)))
    assert [type(r[0]["v"]) for r in results] == [int, float, str, int]
    assert db.stats()["read_pool"]["shared_reads"] == 0


async def test_cancelling_the_first_caller_leaves_the_others_served(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, read_pool_min=1, read_pool_max=1) as db:
        first = asyncio.create_task(db.execute_read(SLOW_COUNT))
        second = asyncio.create_task(db.execute_read(SLOW_COUNT))
        await until_running(db)
        first.cancel()
        assert await second == [{"n": 0, "spent": 400000}]
        assert first.cancelled()
