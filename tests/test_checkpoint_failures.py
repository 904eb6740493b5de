"""A checkpoint that fails is counted and logged once, never silently dropped."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from storage import AsyncDatabase
from storage.sqlite.checkpoint import WalKeeper
from tests.storehelp import log


async def test_failing_checkpoints_after_commits_are_counted_and_logged_once(
    db: AsyncDatabase, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="msglog.storage")

    def failing(self: WalKeeper, writer: sqlite3.Connection, may_pause: bool = True) -> bool:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(WalKeeper, "after_commit", failing)
    for i in range(5):
        await log(db, f"m{i}")
    # The check after a batch runs once its callers were answered: wait for the last.
    async with asyncio.timeout(10):
        while db.stats()["wal"]["failed_checkpoints"] < 5:
            await asyncio.sleep(0.01)
    wal = db.stats()["wal"]
    assert "disk I/O error" in wal["last_failure"]
    failures = [r for r in caplog.records if "checkpoint failed" in r.getMessage()]
    assert len(failures) == 1
    assert db.writable  # the writes themselves committed


async def test_checkpoint_failure_at_close_is_logged(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="msglog.storage")
    async with AsyncDatabase(db_path) as db:
        await log(db, "m")

        def failing(self: WalKeeper, conn: sqlite3.Connection, mode: str) -> dict[str, object]:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(WalKeeper, "checkpoint", failing)
    assert any("checkpoint failed (close)" in r.getMessage() for r in caplog.records)
