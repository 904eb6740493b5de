"""Filters mean the same in listing and stats; search reads errors; case is no obstacle."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apihelp import message, post

from storage import AsyncDatabase, LogFilter, log_stats, message_logs
from storage.timeutil import now_ms

pytestmark = pytest.mark.engines("sqlite", "postgres")


async def listed(client: Any, **params: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/messages", params={"limit": "500", **params})
    assert resp.status == 200, await resp.text()
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


async def stats_of(client: Any, **params: str) -> dict[str, Any]:
    resp = await client.get("/api/stats", params={"range": "24h", **params})
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def seed(client: Any) -> None:
    await post(client, [
        message(1, sender_name="Alice", content="deploy finished", status="success"),
        message(2, sender_name="alice", content="deploy failed", status="failed",
                error_message="upstream timeout"),
        message(3, sender_name="bob", content="lunch?", status="failed",
                error_message="chat not found"),
        message(4, sender_name="carol", content="deploy again", status="pending"),
    ])


async def test_stats_accept_sender_and_q_and_count_what_the_listing_lists(client: Any) -> None:
    await seed(client)
    for params in ({"sender": "alice"}, {"q": "deploy"}, {"q": "deploy", "sender": "ALICE"},
                   {"q": "timeout"}, {"status": "failed", "channel": "chan-1"}):
        rows = await listed(client, **params)
        stats = await stats_of(client, **params)
        assert stats["total"] == len(rows) > 0, params
        by_status: dict[str, int] = {}
        for row in rows:
            by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        assert stats["by_status"] == by_status, params


async def test_stats_since_and_until_narrow_the_range(client: Any) -> None:
    await seed(client)
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    earlier = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert (await stats_of(client, since=later))["total"] == 0
    assert (await stats_of(client, until=earlier))["total"] == 0
    assert (await stats_of(client, since=earlier, until=later))["total"] == 4


async def test_search_finds_text_that_is_only_in_the_error_message(client: Any) -> None:
    await seed(client)
    rows = await listed(client, q="upstream")
    assert [r["kook_message_id"] for r in rows] == ["m-2"]
    rows = await listed(client, q="chat no")  # one indexed term, one too short for it
    assert [r["kook_message_id"] for r in rows] == ["m-3"]


async def test_search_finds_an_error_message_set_by_a_later_patch(client: Any) -> None:
    [row_id] = await post(client, message("patched", status="pending"))
    resp = await client.patch(f"/api/messages/{row_id}",
                              json={"status": "failed", "error_message": "webhook deleted"})
    assert resp.status == 200
    assert [r["id"] for r in await listed(client, q="webhook deleted")] == [row_id]


async def test_platform_is_stored_lowercase_and_matched_in_any_case(client: Any) -> None:
    [row_id] = await post(client, message("p", target_platform="Discord"))
    rows = await listed(client, platform="DISCORD")
    assert [(r["id"], r["target_platform"]) for r in rows] == [(row_id, "discord")]
    stats = await stats_of(client, platform="dIsCoRd")
    assert stats["by_platform"] == {"discord": 1}


async def test_sender_matches_in_any_case(client: Any) -> None:
    await seed(client)
    rows = await listed(client, sender="ALICE")
    assert sorted(r["kook_message_id"] for r in rows) == ["m-1", "m-2"]


# SQLite's schema versions: a version 5 file made with sqlite3.
@pytest.mark.engines("sqlite")
async def test_version_5_database_gets_lowercase_platforms_and_searchable_errors(
    db_path: Path,
) -> None:
    async with AsyncDatabase(db_path) as db:
        await db.add_message_log_async("old-1", "c", "hi", "text", "a", "tg", "t", "failed",
                                       "quota exceeded")
    # Version 5: no change log, platforms as written, errors outside the search index.
    conn = sqlite3.connect(db_path)
    for trigger in ("log_changes_ai", "log_changes_au"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE log_changes")
    conn.execute("UPDATE message_logs SET target_platform = 'Telegram'")
    conn.execute("PRAGMA user_version = 5")
    conn.commit()
    conn.close()
    async with AsyncDatabase(db_path) as db:
        rows, _ = await message_logs.page(db, LogFilter(q="quota"))
        now = now_ms()
        stats = await log_stats.summary(db, LogFilter(), now - 86_400_000, now, 3_600_000)
    assert [(r["kook_message_id"], r["target_platform"]) for r in rows] == [("old-1", "telegram")]
    assert stats["by_platform"] == {"telegram": 1}


async def test_a_search_with_a_nul_character_is_a_422_naming_it(client: Any) -> None:
    await seed(client)
    for q in ("ab\x00cd", "a\x00"):
        resp = await client.get("/api/messages", params={"q": q})
        assert resp.status == 422, q
        assert (await resp.json())["error"]["details"][0]["field"] == "q"
