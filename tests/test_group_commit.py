"""Group commit: the flush interval bounds a batch's wait; it is never a toll on a lone write."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import AsyncDatabase
from tests.storehelp import log

pytestmark = pytest.mark.engines("sqlite", "postgres")

# Far longer than any test may take: a write that waits for the interval fails the test.
HOUR = 3600.0


async def test_lone_write_commits_without_waiting_for_the_flush_interval(
    db_target: str | Path,
) -> None:
    async with AsyncDatabase(db_target, flush_interval=HOUR) as db:
        row_id = await asyncio.wait_for(log(db, "lone"), timeout=30)
        assert await db.execute_one("SELECT id FROM message_logs WHERE id = ?", (row_id,))


async def test_sequential_awaited_writes_each_commit_at_once(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, flush_interval=HOUR) as db:
        ids = [await asyncio.wait_for(log(db, f"seq-{i}"), timeout=30) for i in range(50)]
        assert len(set(ids)) == 50
        assert db.stats()["writer"]["batches"] >= 50


async def test_writes_queued_in_one_loop_turn_share_a_commit(db_target: str | Path) -> None:
    # 100 producers submit together: the batch bound (10) starts a commit, and the rest
    # join the batches that follow instead of paying one commit each.
    async with AsyncDatabase(db_target, batch_size=10, flush_interval=HOUR) as db:
        ids = await asyncio.wait_for(
            asyncio.gather(*(log(db, f"burst-{i}") for i in range(100))), timeout=30
        )
        assert len(set(ids)) == 100
        writer = db.stats()["writer"]
        assert writer["rows"] == 100
        assert writer["batches"] <= 20

