"""Pauses between batches (WAL checkpoints, full-text catch-ups) never hold back an ack."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from storage import AsyncDatabase
from storage.sqlite import fts_tail
from storage.sqlite.checkpoint import WalKeeper
from storage.sqlite.fts_tail import FtsTail
from tests.storehelp import log


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


async def test_wal_size_counts_the_frames_in_use_not_the_rewound_file(db: AsyncDatabase) -> None:
    for i in range(30):
        await log(db, f"m-{i}")
    in_use = db.stats()["wal"]["bytes"]
    assert 0 < in_use <= db.stats()["wal"]["file_bytes"]

    def restart_then_write(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(RESTART)")
        # The next write rewinds the WAL to its start; the file keeps its size.
        conn.execute("UPDATE message_logs SET attempts = attempts + 1 WHERE id = 1")

    await db.engine.run_on_writer(restart_then_write)
    wal = db.stats()["wal"]
    assert wal["bytes"] < in_use
    assert wal["file_bytes"] >= in_use


async def test_tail_is_indexed_once_overdue_even_if_every_gap_pauses(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        WalKeeper, "after_commit", lambda self, writer, may_pause=True: may_pause
    )
    monkeypatch.setattr(FtsTail, "seconds_until_due", lambda self, now: None)
    db = AsyncDatabase(db_path, flush_interval=0)
    await db.init()
    try:
        rows = 12 * fts_tail.CHUNK_ROWS
        keys = iter(range(rows))

        async def producer() -> None:
            for i in keys:
                await log(db, f"m-{i}")

        await asyncio.gather(*(producer() for _ in range(20)))
        # Overdue at four chunks: at most that much can still wait at the end.
        indexed = db.stats()["writer"]["fts_tail"]["indexed_rows"]
        assert indexed >= rows - 4 * fts_tail.CHUNK_ROWS
    finally:
        await db.close()
