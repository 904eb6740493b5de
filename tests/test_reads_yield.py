"""Writes come first: reads step aside while a deep write backlog waits, and still answer."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from storage import AsyncDatabase
from storage.sqlite.readpool import WRITE_BACKLOG_DEEP
from tests.storehelp import log


async def test_read_yields_to_a_deep_write_backlog_and_still_answers(db_path: Path) -> None:
    async with AsyncDatabase(db_path) as db:
        await log(db, "seed")
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # a foreign writer: the queue backs up
        try:
            writes = [asyncio.create_task(log(db, f"w{i}")) for i in range(WRITE_BACKLOG_DEEP)]
            await asyncio.sleep(0.05)
            rows = await db.get_message_logs_async(limit=10)
            assert [r["kook_message_id"] for r in rows] == ["seed"]
            assert db.stats()["read_pool"]["yields_to_writes"] == 1
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert len(set(await asyncio.gather(*writes))) == WRITE_BACKLOG_DEEP


async def test_reads_do_not_yield_while_writes_keep_up(db: AsyncDatabase) -> None:
    await log(db, "one")
    await db.get_message_logs_async(limit=10)
    assert db.stats()["read_pool"]["yields_to_writes"] == 0
