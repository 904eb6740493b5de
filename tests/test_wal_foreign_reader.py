"""A reader outside msglog pins the WAL: writes keep their speed, the operator is told."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from storage import AsyncDatabase
from storage.sqlite.checkpoint import RESTART_AT_BYTES

MB = 1024 * 1024


@pytest.fixture
def foreign_snapshot(db_path: Path) -> Iterator[sqlite3.Connection]:
    """The sqlite3 shell (or datasette, a backup tool) in the middle of a read."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    yield conn
    conn.close()


def hold_snapshot(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM message_logs").fetchone()


async def grow_wal(db: AsyncDatabase, megabytes: int) -> None:
    await db.execute_write("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
    for _ in range(megabytes):
        await db.execute_write("INSERT INTO filler VALUES (randomblob(?))", (MB,))


async def test_foreign_snapshot_is_reported_once_as_pinning_the_wal(
    db_path: Path, foreign_snapshot: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="msglog.storage")
    async with AsyncDatabase(db_path) as db:
        hold_snapshot(foreign_snapshot)
        await grow_wal(db, 40)
        wal = db.stats()["wal"]
        assert wal["pinned"] is not None
        assert wal["pinned"]["by"] == "a reader outside msglog"
        assert wal["pinned"]["wal_bytes"] >= RESTART_AT_BYTES
        assert wal["pinned_episodes"] == 1
    warnings = [r for r in caplog.records if "WAL pinned" in r.getMessage()]
    assert len(warnings) == 1
    assert "a reader outside msglog" in warnings[0].getMessage()


async def test_writes_do_not_wait_on_a_checkpoint_that_a_foreign_snapshot_blocks(
    db_path: Path, foreign_snapshot: sqlite3.Connection
) -> None:
    # Before: every batch past the threshold waited 250 ms for a RESTART that gave up.
    async with AsyncDatabase(db_path) as db:
        hold_snapshot(foreign_snapshot)
        await grow_wal(db, 40)
        assert db.stats()["wal"]["busy_checkpoints"] <= 2


async def test_wal_comes_back_within_its_bound_once_the_foreign_reader_leaves(
    db_path: Path, foreign_snapshot: sqlite3.Connection
) -> None:
    async with AsyncDatabase(db_path) as db:
        hold_snapshot(foreign_snapshot)
        await grow_wal(db, 30)
        assert db.stats()["wal"]["bytes"] >= RESTART_AT_BYTES
        foreign_snapshot.execute("COMMIT")
        for i in range(150):  # up to 15 s of light traffic
            await db.add_message_log_async(f"after-{i}", "c", "x", "text", "s", "tg", "t",
                                           "success")
            wal = db.stats()["wal"]
            if wal["pinned"] is None and wal["bytes"] < RESTART_AT_BYTES:
                break
            await asyncio.sleep(0.1)
        assert wal["pinned"] is None
        assert wal["bytes"] < RESTART_AT_BYTES


async def test_external_checkpoints_leave_every_checkpoint_to_the_replicator(
    db_path: Path,
) -> None:
    async with AsyncDatabase(db_path, checkpoints="external") as db:
        await grow_wal(db, 30)
        wal = db.stats()["wal"]
        assert wal["managed"] is False
        assert wal["checkpoints"] == 0
        assert wal["bytes"] >= 30 * MB


async def test_metrics_and_pool_health_show_a_pinned_wal(
    client: TestClient[Any, Any], db_path: Path, foreign_snapshot: sqlite3.Connection
) -> None:
    db = client.app[keys.DB]
    hold_snapshot(foreign_snapshot)
    await grow_wal(db, 30)
    health = await (await client.get("/health/pool")).json()
    assert health["wal"]["pinned"]["by"] == "a reader outside msglog"
    metrics = await (await client.get("/metrics")).text()
    assert "msglog_wal_pinned 1.0" in metrics
