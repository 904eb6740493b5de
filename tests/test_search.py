"""Full-text search pages through the storage API, including the newest-matches shortcut."""

from __future__ import annotations

import asyncio

import pytest

from storage import AsyncDatabase, LogFilter
from storage import message_logs as logs


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
def few_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "SEARCH_CANDIDATES", 5)


async def test_common_word_page_is_the_newest_matches(
    db: AsyncDatabase, few_candidates: None
) -> None:
    await fill(db)
    rows, next_id = await logs.page(db, LogFilter(q="timeout"), 3)
    assert [r["kook_message_id"] for r in rows] == ["m29", "m28", "m27"]
    assert next_id == rows[-1]["id"]


async def test_matches_older_than_the_newest_candidates_are_still_found(
    db: AsyncDatabase, few_candidates: None
) -> None:
    await fill(db)
    rows, _ = await logs.page(db, LogFilter(q="timeout", status="failed"), 10)
    assert [r["kook_message_id"] for r in rows] == ["m2", "m1", "m0"]


async def test_paging_a_search_visits_every_match_once(
    db: AsyncDatabase, few_candidates: None
) -> None:
    await fill(db)
    seen: list[str] = []
    before = None
    while True:
        rows, before = await logs.page(db, LogFilter(q="timeout"), 4, before)
        seen += [r["kook_message_id"] for r in rows]
        if before is None:
            break
    assert seen == [f"m{n}" for n in range(29, -1, -1)]
