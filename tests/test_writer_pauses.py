"""Pauses between batches (WAL checkpoints, full-text catch-ups) never hold back an ack."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from storage import AsyncDatabase
from storage.checkpoint import WalKeeper
from storage.fts_tail import FtsTail


async def log(db: AsyncDatabase, key: str) -> int:
    return await db.add_message_log_async(key, "chan", "hello", "text", "ann", "tg", "t1",
                                          "success")


async def test_write_is_acknowledged_while_the_wal_check_after_it_still_runs(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    checking = threading.Event()

    def slow_check(self: WalKeeper, writer: sqlite3.Connection, may_pause: bool = True) -> bool:
        checking.set()
        release.wait(10)  # a RESTART checkpoint waiting on a slow disk
        return True

    db = AsyncDatabase(db_path, flush_interval=0)
    await db.init()
    monkeypatch.setattr(WalKeeper, "after_commit", slow_check)
    try:
        row_id = await asyncio.wait_for(log(db, "m-1"), timeout=5)
        assert await asyncio.to_thread(checking.wait, 5)
        assert row_id > 0
    finally:
        release.set()
        await db.close()


async def test_full_text_catch_up_never_follows_a_checkpoint_pause_directly(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    gaps = iter(range(10**6))

    def every_other_gap_pauses(
        self: WalKeeper, writer: sqlite3.Connection, may_pause: bool = True
    ) -> bool:
        paused = may_pause and next(gaps) % 2 == 0
        events.append("pause" if paused else "check")
        return paused

    original_catch_up = FtsTail.catch_up

    def recorded_catch_up(self: FtsTail, conn: sqlite3.Connection) -> None:
        events.append("catch-up")
        original_catch_up(self, conn)

    monkeypatch.setattr(WalKeeper, "after_commit", every_other_gap_pauses)
    monkeypatch.setattr(FtsTail, "catch_up", recorded_catch_up)
    # Due after every batch; never by the idle timer, so each catch-up follows a gap's check.
    monkeypatch.setattr(FtsTail, "due", lambda self, now: self.pending > 0)
    monkeypatch.setattr(FtsTail, "seconds_until_due", lambda self, now: None)
    db = AsyncDatabase(db_path, flush_interval=0)
    await db.init()
    try:
        for i in range(12):
            await log(db, f"m-{i}")
        await asyncio.sleep(0.3)  # the last gap's work runs after its ack
    finally:
        events.append("closing")  # close indexes what is left, pause or not
        await db.close()
    events = events[: events.index("closing")]
    catch_ups = [i for i, e in enumerate(events) if e == "catch-up"]
    assert catch_ups, events
    assert all(i > 0 and events[i - 1] == "check" for i in catch_ups), events
    assert "pause" in events
