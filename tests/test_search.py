"""Full-text search pages through the storage API, including the newest-matches shortcut."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import AsyncDatabase, LogFilter
from storage import message_logs as logs

pytestmark = pytest.mark.engines("sqlite", "postgres")


async def fill(db: AsyncDatabase) -> None:
    # Enqueued in order, so ids and timestamps rise with n.
    await asyncio.gather(*(
        db.add_message_log_async(
            f"m{n}", "chan", f"upstream timeout number {n}", "1", "bob", "tg", "t",
            "failed" if n < 3 else "success",
        )
        for n in range(30)
    ))


@pytest.fixture
async def indexed(db_target: str | Path, engine: str) -> AsyncIterator[AsyncDatabase]:
    """The 30 rows, all in the full-text index: a clean close indexes the writer's tail.

    (PostgreSQL's trigram indexes hold every row as it is committed.)
    """
    async with AsyncDatabase(db_target) as db:
        await fill(db)
    async with AsyncDatabase(db_target) as db:
        if engine == "sqlite":
            mark = await db.execute_one("SELECT indexed_to FROM fts_progress WHERE id = 1")
            top = await db.execute_one("SELECT max(id) AS id FROM message_logs")
            assert mark is not None and top is not None and mark["indexed_to"] == top["id"]
        yield db


@pytest.fixture
def few_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "SEARCH_CANDIDATES", 5)


async def test_common_word_page_is_the_newest_matches(
    indexed: AsyncDatabase, few_candidates: None
) -> None:
    db = indexed
    rows, next_id = await logs.page(db, LogFilter(q="timeout"), 3)
    assert [r["kook_message_id"] for r in rows] == ["m29", "m28", "m27"]
    assert next_id == rows[-1]["id"]


async def test_matches_older_than_the_newest_candidates_are_still_found(
    indexed: AsyncDatabase, few_candidates: None
) -> None:
    db = indexed
    rows, _ = await logs.page(db, LogFilter(q="timeout", status="failed"), 10)
    assert [r["kook_message_id"] for r in rows] == ["m2", "m1", "m0"]


async def test_paging_a_search_visits_every_match_once(
    indexed: AsyncDatabase, few_candidates: None
) -> None:
    db = indexed
    seen: list[str] = []
    before = None
    while True:
        rows, before = await logs.page(db, LogFilter(q="timeout"), 4, before)
        seen += [r["kook_message_id"] for r in rows]
        if before is None:
            break
    assert seen == [f"m{n}" for n in range(29, -1, -1)]


async def test_search_page_is_newest_first_even_when_old_rows_have_higher_ids(
    db_target: str | Path, few_candidates: None
) -> None:
    # An import gives rows from 2023 ids above rows written in 2025: the newest matches
    # by row id are then the oldest by time.
    async with AsyncDatabase(db_target) as db:
        await fill(db)
        for n in range(10):
            await db.execute_write(
                "INSERT INTO message_logs (kook_message_id, kook_channel_id, content, "
                "message_type, sender_name, target_platform, target_channel, status, "
                "created_at, updated_at) VALUES (?, 'chan', ?, '1', 'bob', 'tg', 't', "
                "'success', ?, ?)",
                (f"old{n}", f"upstream timeout from 2023 #{n}", 1_690_000_000_000 + n,
                 1_690_000_000_000 + n),
            )
    async with AsyncDatabase(db_target) as db:  # reopened: every row is in the index
        rows, _ = await logs.page(db, LogFilter(q="timeout"), 3)
        assert [r["kook_message_id"] for r in rows] == ["m29", "m28", "m27"]
        seen: list[str] = []
        before = None
        while True:
            rows, before = await logs.page(db, LogFilter(q="timeout"), 7, before)
            seen += [r["kook_message_id"] for r in rows]
            if before is None:
                break
        assert seen == [f"m{n}" for n in range(29, -1, -1)] + [f"old{n}" for n in range(9, -1, -1)]
