"""The full-text tail: rows the writer has not indexed yet are still found, and indexed right."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from storage import AsyncDatabase, LogFilter, message_logs
from storage.sqlite import schema
from tests.storehelp import log


async def search(db: AsyncDatabase, q: str) -> list[str]:
    rows, _ = await message_logs.page(db, LogFilter(q=q), limit=100)
    return sorted(row["kook_message_id"] for row in rows)


async def index_hits(db: AsyncDatabase, phrase: str) -> int:
    row = await db.execute_one(
        "SELECT count(*) AS n FROM message_fts WHERE message_fts MATCH ?", (f'"{phrase}"',)
    )
    assert row is not None
    return int(row["n"])


async def index_is_intact(db: AsyncDatabase) -> None:
    # FTS5 raises SQLITE_CORRUPT_VTAB if the index disagrees with message_logs.
    await db.engine.run_on_writer(
        lambda conn: conn.execute(
            "INSERT INTO message_fts(message_fts, rank) VALUES ('integrity-check', 1)"
        )
    )


async def test_search_finds_a_row_the_writer_has_not_indexed_yet(db: AsyncDatabase) -> None:
    await log(db, "m-1", "the parcel arrived")
    assert await index_hits(db, "parcel") == 0  # still in the tail
    assert await search(db, "parcel") == ["m-1"]
    assert await search(db, "PARCEL arr") == ["m-1"]


async def test_search_gives_the_same_rows_before_and_after_indexing(db: AsyncDatabase) -> None:
    for n in range(30):
        await log(db, f"m-{n}", f"note {n} {'gizmo' if n % 3 == 0 else 'widget'} 消息{n % 2}")
    before = [await search(db, q) for q in ("gizmo", "widget 消息1", "note 2")]
    await db.flush_search_index()
    assert await index_hits(db, "gizmo") == 10
    after = [await search(db, q) for q in ("gizmo", "widget 消息1", "note 2")]
    assert after == before
    assert len(before[0]) == 10


async def test_flush_reports_how_many_rows_it_indexed(db: AsyncDatabase) -> None:
    await asyncio.gather(*(log(db, f"m-{n}", f"row {n}") for n in range(30)))
    assert await db.flush_search_index() == 30
    assert await db.flush_search_index() == 0


async def test_an_edit_before_indexing_is_indexed_with_its_new_text(db: AsyncDatabase) -> None:
    await log(db, "m-1", "first draft")
    await log(db, "m-1", "final version")  # same (message, target): an update
    assert await search(db, "draft") == []
    await db.flush_search_index()
    assert await index_hits(db, "draft") == 0
    assert await index_hits(db, "final version") == 1
    await index_is_intact(db)


async def test_an_edit_after_indexing_replaces_the_indexed_text(db: AsyncDatabase) -> None:
    await log(db, "m-1", "first draft")
    await db.flush_search_index()
    await log(db, "m-1", "final version")
    assert await index_hits(db, "draft") == 0
    assert await search(db, "final") == ["m-1"]
    await index_is_intact(db)


async def test_deleting_rows_in_and_out_of_the_index_keeps_it_intact(db: AsyncDatabase) -> None:
    for n in range(4):
        await log(db, f"old-{n}", f"indexed row {n}")
    await db.flush_search_index()
    for n in range(4):
        await log(db, f"new-{n}", f"tail row {n}")
    await db.execute_write(
        "DELETE FROM message_logs WHERE kook_message_id IN ('old-0', 'new-0')"
    )
    await db.flush_search_index()
    await index_is_intact(db)
    assert await index_hits(db, "row") == 6
    assert await search(db, "row") == ["new-1", "new-2", "new-3", "old-1", "old-2", "old-3"]


async def test_the_writer_indexes_the_tail_on_its_own(db_path: Path) -> None:
    async with AsyncDatabase(db_path, flush_interval=0.005) as db:
        await asyncio.gather(*(log(db, f"m-{n}", f"bulk {n}") for n in range(50)))
        for _ in range(100):  # the tail is due a second after its oldest row
            if await index_hits(db, "bulk") == 50:
                break
            await asyncio.sleep(0.05)
        assert await index_hits(db, "bulk") == 50
        assert db.stats()["writer"]["fts_tail"]["catch_ups"] >= 1


async def test_closing_leaves_no_tail(db_path: Path) -> None:
    async with AsyncDatabase(db_path) as db:
        last = await log(db, "m-1", "closing time")
    conn = sqlite3.connect(db_path)
    indexed_to = conn.execute("SELECT indexed_to FROM fts_progress").fetchone()[0]
    hits = conn.execute("SELECT rowid FROM message_fts WHERE message_fts MATCH 'closing'")
    assert indexed_to == last
    assert hits.fetchall() == [(last,)]
    conn.close()


async def test_a_tail_left_behind_is_indexed_at_start(db_path: Path) -> None:
    async with AsyncDatabase(db_path):
        pass
    # Rows committed by a plain INSERT (as if the process died before indexing them).
    conn = sqlite3.connect(db_path)
    conn.execute(
        "INSERT INTO message_logs (kook_message_id, kook_channel_id, content) "
        "VALUES ('m-1', 'c', 'left behind')"
    )
    conn.commit()
    conn.close()
    async with AsyncDatabase(db_path) as db:
        assert await search(db, "behind") == ["m-1"]
        for _ in range(100):
            if await index_hits(db, "left behind") == 1:
                break
            await asyncio.sleep(0.05)
        assert await index_hits(db, "left behind") == 1
        await index_is_intact(db)


async def test_catch_up_trims_the_change_log_to_its_bound(db: AsyncDatabase) -> None:
    await db.execute_write(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) "
        "INSERT INTO log_changes (log_id) SELECT 0 FROM n",
        (schema.CHANGES_KEPT + 500,),
    )
    await db.add_message_log_async("m", "c", "text", "text", "a", "discord", "t", "success")
    await db.flush_search_index()
    row = await db.execute_one("SELECT count(*) AS n, max(seq) AS top FROM log_changes")
    assert row == {"n": schema.CHANGES_KEPT, "top": schema.CHANGES_KEPT + 501}
