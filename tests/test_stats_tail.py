"""Statistics from the rollups and the tail the writer has not folded into them yet."""

from __future__ import annotations

import time
from typing import Any

from storage import AsyncDatabase, LogFilter, log_stats

HOUR_MS = 3_600_000


async def write_rows(db: AsyncDatabase, n: int, start: int = 0) -> list[int]:
    return [
        await db.add_message_log_async(
            f"m-{start + i}", "c", "text", "text", "alice",
            "discord" if i % 2 else "telegram", "t",
            "failed" if i % 3 == 0 else "success", None, 100 + i,
        )
        for i in range(n)
    ]


async def both_ways(db: AsyncDatabase, filt: LogFilter) -> tuple[dict[str, Any], ...]:
    until = int(time.time() * 1000) + 1
    since = until - 24 * HOUR_MS
    rollup = await log_stats.summary(db, filt, since, until, HOUR_MS)
    exact = await log_stats.summary(db, filt, since, until, HOUR_MS, exact=True)
    return rollup, exact


async def folded_rows(db: AsyncDatabase) -> int:
    row = await db.execute_one("SELECT coalesce(sum(n), 0) AS n FROM stats_counts")
    assert row is not None
    return int(row["n"])


async def test_rows_not_folded_yet_are_counted_from_the_tail(db: AsyncDatabase) -> None:
    await write_rows(db, 12)
    assert await folded_rows(db) < 12  # the writer folds every 100 rows or second
    rollup, exact = await both_ways(db, LogFilter())
    assert rollup["total"] == exact["total"] == 12
    assert rollup["by_status"] == exact["by_status"]
    assert rollup["by_platform"] == exact["by_platform"]


async def test_folded_rows_are_counted_once(db: AsyncDatabase) -> None:
    await write_rows(db, 12)
    await db.flush_search_index()
    assert await folded_rows(db) == 12
    rollup, exact = await both_ways(db, LogFilter(status="failed"))
    assert rollup["total"] == exact["total"] == 4


async def test_updates_and_deletes_agree_on_both_sides_of_the_fold(db: AsyncDatabase) -> None:
    folded = await write_rows(db, 6)
    await db.flush_search_index()
    tail = await write_rows(db, 6, start=100)
    for row_id in (folded[0], tail[0]):
        await db.execute_write(
            "UPDATE message_logs SET status = 'dead', target_platform = 'kook' WHERE id = ?",
            (row_id,),
        )
    await db.execute_write("DELETE FROM message_logs WHERE id IN (?, ?)", (folded[1], tail[1]))
    await db.flush_search_index()
    rollup, exact = await both_ways(db, LogFilter())
    assert rollup["by_status"] == exact["by_status"]
    assert rollup["by_platform"] == exact["by_platform"] == {
        "kook": 2, "discord": 4, "telegram": 4}


async def test_a_row_inserted_below_the_fold_mark_is_counted(db: AsyncDatabase) -> None:
    ids = await write_rows(db, 3)
    await db.execute_write("DELETE FROM message_logs WHERE id = ?", (ids[0],))
    await db.flush_search_index()
    now = int(time.time() * 1000)
    # An import keeps a free id below the mark: the trigger counts it, not the fold.
    await db.execute_write(
        "INSERT INTO message_logs (id, kook_message_id, kook_channel_id, target_platform, "
        "target_channel, status, created_at, updated_at) "
        "VALUES (?, 'back', 'c', 'feishu', 't', 'success', ?, ?)",
        (ids[0], now, now),
    )
    await db.flush_search_index()
    rollup, exact = await both_ways(db, LogFilter(platform="FEISHU"))
    assert rollup["total"] == exact["total"] == 1
