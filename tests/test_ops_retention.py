"""Retention: old logs go in short batches, recent ones stay, search and space follow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from legacy import make_legacy_db

from bot.app import create_app
from bot.retention import RETENTION, RetentionTask
from bot.settings import Settings
from storage import AsyncDatabase, LogFilter, message_logs, retention
from storage.timeutil import now_ms

pytestmark = pytest.mark.engines("sqlite", "postgres")

DAY_MS = 86_400_000
OLD = 1500
RECENT = 100
PADDING = "x" * 400  # enough bytes per row that deleting them frees many pages


async def add_logs(db: AsyncDatabase, count: int, age_days: float, marker: str) -> None:
    created = now_ms() - int(age_days * DAY_MS)
    await asyncio.gather(
        *(
            db.execute_write(
                "INSERT INTO message_logs (kook_message_id, kook_channel_id, content, "
                "sender_name, status, latency_ms, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (f"{marker}-{n}", "chan", f"{marker} 消息 {n} {PADDING}", "s", "success",
                 n % 700, created, created),
            )
            for n in range(count)
        )
    )


async def count_logs(db: AsyncDatabase, prefix: str) -> int:
    row = await db.execute_one(
        "SELECT count(*) AS n FROM message_logs WHERE kook_message_id LIKE ?", (f"{prefix}-%",)
    )
    assert row is not None
    return int(row["n"])


async def fts_hits(db: AsyncDatabase, word: str) -> int:
    """Entries in the full-text index itself (stale entries would still count here)."""
    row = await db.execute_one(
        "SELECT count(*) AS n FROM message_fts WHERE message_fts MATCH ?", (word,)
    )
    assert row is not None
    return int(row["n"])


async def pragma(db: AsyncDatabase, name: str) -> int:
    row = await db.execute_one(f"PRAGMA {name}")
    assert row is not None
    return int(next(iter(row.values())))


@pytest.fixture
async def aged_db(db_target: str | Path) -> AsyncIterator[AsyncDatabase]:
    # A lone write waits the flush interval: keep the purge's one-at-a-time batches quick.
    async with AsyncDatabase(db_target, flush_interval=0.005) as db:
        await add_logs(db, OLD, 40, "ancient")
        await add_logs(db, RECENT, 1, "fresh")
        # The index itself is under test here: take the writer's unindexed tail into it.
        await db.flush_search_index()
        yield db


async def test_retention_deletes_old_logs_and_keeps_recent_ones(aged_db: AsyncDatabase) -> None:
    report = await retention.apply(aged_db, days=30)
    assert report.logs_deleted == OLD
    assert await count_logs(aged_db, "ancient") == 0
    assert await count_logs(aged_db, "fresh") == RECENT


async def search(db: AsyncDatabase, q: str) -> int:
    found, _ = await message_logs.page(db, LogFilter(q=q), limit=500)
    return len(found)


async def test_retention_removes_deleted_rows_from_search(aged_db: AsyncDatabase) -> None:
    assert await search(aged_db, "ancient") == 500  # the page's limit: OLD are there
    await retention.apply(aged_db, days=30)
    assert await search(aged_db, "ancient") == 0
    assert await search(aged_db, "fresh") == RECENT


# The FTS5 index is SQLite's (PostgreSQL's indexes drop a deleted row with it).
@pytest.mark.engines("sqlite")
async def test_retention_removes_deleted_rows_from_the_fts_index(
    aged_db: AsyncDatabase,
) -> None:
    assert await fts_hits(aged_db, "ancient") == OLD
    await retention.apply(aged_db, days=30)
    assert await fts_hits(aged_db, "ancient") == 0
    assert await fts_hits(aged_db, "fresh") == RECENT


# SQLite's pages (page_count, freelist_count); PostgreSQL's VACUUM keeps its files' size.
@pytest.mark.engines("sqlite")
async def test_retention_gives_freed_pages_back(aged_db: AsyncDatabase) -> None:
    pages_before = await pragma(aged_db, "page_count")
    report = await retention.apply(aged_db, days=30)
    assert report.pages_freed > 0
    assert await pragma(aged_db, "freelist_count") == 0
    assert await pragma(aged_db, "page_count") <= pages_before - report.pages_freed


async def stats_rows_before(db: AsyncDatabase, cutoff: int) -> dict[str, int]:
    tables = await db.execute_read(db.dialect.rollup_tables_sql)
    counts = {}
    for table in (t["name"] for t in tables if t["name"] != "stats_progress"):
        row = await db.execute_one(f"SELECT count(*) AS n FROM {table} WHERE bucket < ?", (cutoff,))
        assert row is not None
        counts[table] = int(row["n"])
    return counts


async def test_retention_drops_statistics_buckets_it_emptied(aged_db: AsyncDatabase) -> None:
    cutoff = retention.cutoff_for(30)
    before = await stats_rows_before(aged_db, cutoff)
    assert before and all(before.values())
    report = await retention.apply(aged_db, days=30)
    assert report.rollup_rows_deleted == sum(before.values())
    assert set((await stats_rows_before(aged_db, cutoff)).values()) == {0}


async def test_retention_deletes_in_short_batches_that_let_other_writes_in(
    aged_db: AsyncDatabase,
) -> None:
    batches = retention.purge_logs_batches(aged_db, retention.cutoff_for(30), batch=100)
    assert await anext(batches) == 100
    other = asyncio.create_task(aged_db.add_message_log_async(
        "meanwhile", "chan", "written during the purge", "1", "s", "tg", "c", "success"
    ))
    done_before_purge_ended = False
    steps = 1
    async for deleted in batches:
        assert deleted <= 100
        steps += 1
        done_before_purge_ended = done_before_purge_ended or other.done()
    assert steps >= OLD // 100
    assert done_before_purge_ended
    assert await other > 0


# An older runtime's SQLite file, opened in place.
@pytest.mark.engines("sqlite")
async def test_retention_on_a_migrated_older_file_deletes_its_old_logs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    make_legacy_db(path, logs=30)  # text timestamps from November 2025
    async with AsyncDatabase(path) as db:
        report = await retention.apply(db, days=1)
        assert report.logs_deleted == 30
        assert await count_logs(db, "old") == 0


async def test_retention_of_zero_days_deletes_nothing(
    aiohttp_client: Any, make_settings: Callable[..., Settings], db_target: str | Path
) -> None:
    async with AsyncDatabase(db_target) as db:
        await add_logs(db, 20, 4000, "ancient")
    app = create_app(make_settings(retention_days=0))
    client = await aiohttp_client(app)
    assert RETENTION not in app
    resp = await client.get("/api/messages", params={"q": "ancient", "limit": 500})
    assert len((await resp.json())["items"]) == 20


async def test_service_applies_retention_at_start(
    aiohttp_client: Any, make_settings: Callable[..., Settings], db_target: str | Path
) -> None:
    async with AsyncDatabase(db_target) as db:
        await add_logs(db, 50, 40, "ancient")
        await add_logs(db, 5, 1, "fresh")
    app = create_app(make_settings(retention_days=30))
    client = await aiohttp_client(app)
    await app[RETENTION].wait_for_passes(1)
    resp = await client.get("/api/messages", params={"limit": 500})
    ids = {item["kook_message_id"] for item in (await resp.json())["items"]}
    assert ids == {f"fresh-{n}" for n in range(5)}


async def test_retention_task_runs_again_after_its_interval(db: AsyncDatabase) -> None:
    job = RetentionTask(db, days=30, interval=0.01)
    task = asyncio.create_task(job.run())
    try:
        await job.wait_for_passes(1)
        await add_logs(db, 10, 40, "late")
        passes = job.passes
        await job.wait_for_passes(passes + 2)  # one full pass after the rows were there
        assert await count_logs(db, "late") == 0
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
