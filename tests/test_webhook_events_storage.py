"""storage.webhook_events: de-duplication keys, and schema version 2 that holds them."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import AsyncDatabase, LogFilter, message_logs, webhook_events
from storage.sqlite import schema
from storage.timeutil import now_ms
from storage.webhook_events import Received

pytestmark = pytest.mark.engines("sqlite", "postgres")

LEGACY_DDL = [
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE NOT NULL, "
    "password_encrypted TEXT, cookie TEXT, status TEXT DEFAULT 'offline', "
    "last_active TIMESTAMP, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
    "CREATE TABLE message_logs (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "kook_message_id TEXT NOT NULL, kook_channel_id TEXT NOT NULL, content TEXT, "
    "message_type TEXT, sender_name TEXT, target_platform TEXT, target_channel TEXT, "
    "status TEXT, error_message TEXT, latency_ms INTEGER, "
    "created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)",
    "INSERT INTO message_logs (kook_message_id, kook_channel_id, content, status) "
    "VALUES ('old-1', 'c', 'kept', 'success')",
]


def message(source_id: str = "m-1", content: str = "hi") -> Received:
    return Received(source_id, "chan", content, "text", "alice")


def version_and_tables(path: Path) -> tuple[int, set[str]]:
    conn = sqlite3.connect(path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    return version, names


# SQLite's schema versions (user_version) and its file.
@pytest.mark.engines("sqlite")
async def test_new_database_is_at_the_latest_version_with_webhook_events(db_path: Path) -> None:
    async with AsyncDatabase(db_path):
        pass
    version, tables = version_and_tables(db_path)
    assert version == schema.LATEST_VERSION
    assert "webhook_events" in tables


# SQLite's schema versions (user_version) and its file.
@pytest.mark.engines("sqlite")
async def test_older_runtime_database_migrates_from_0_to_latest(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    for ddl in LEGACY_DDL:
        conn.execute(ddl)
    conn.commit()
    conn.close()
    async with AsyncDatabase(db_path) as db:
        kept = await db.execute_read("SELECT content FROM message_logs")
        assert await webhook_events.remember(db, "kook", "1") is True
    assert kept == [{"content": "kept"}]
    assert version_and_tables(db_path)[0] == schema.LATEST_VERSION


# SQLite's schema versions (user_version) and its file.
@pytest.mark.engines("sqlite")
async def test_version_1_database_migrates_to_latest_keeping_its_rows(db_path: Path) -> None:
    async with AsyncDatabase(db_path) as db:
        await db.add_message_log_async("m-1", "c", "kept", "text", "a", "tg", "t", "success")
    # Version 1 is the latest schema without the tables versions 2 to 8 added.
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TABLE stats_progress")
    for trigger in ("log_changes_ai", "log_changes_au"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE log_changes")
    conn.execute("DROP TABLE webhook_events")
    conn.execute("DROP TABLE fts_progress")
    for trigger in ("stats_ai", "stats_ad", "stats_au"):
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.execute("DROP TABLE stats_counts")
    conn.execute("DROP TABLE stats_latency_hourly")
    conn.execute("DROP TABLE stats_latency_daily")
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    async with AsyncDatabase(db_path) as db:
        kept = await db.execute_read("SELECT content FROM message_logs")
        assert await webhook_events.remember(db, "kook", "1") is True
    assert kept == [{"content": "kept"}]
    assert version_and_tables(db_path)[0] == schema.LATEST_VERSION


async def test_remember_is_true_only_the_first_time(db: AsyncDatabase) -> None:
    assert await webhook_events.remember(db, "kook", "9") is True
    assert await webhook_events.remember(db, "kook", "9") is False
    assert await webhook_events.remember(db, "telegram", "9") is True


async def test_concurrent_remember_has_exactly_one_winner(db: AsyncDatabase) -> None:
    results = await asyncio.gather(*(webhook_events.remember(db, "kook", "1") for _ in range(20)))
    assert sorted(results) == [False] * 19 + [True]


async def test_seen_reports_remembered_ids(db: AsyncDatabase) -> None:
    await webhook_events.remember(db, "kook", "3")
    assert await webhook_events.seen(db, "kook", "3") is True
    assert await webhook_events.seen(db, "kook", "4") is False


async def test_concurrent_store_received_inserts_once(db: AsyncDatabase) -> None:
    ids = await asyncio.gather(*(webhook_events.store_received(db, message()) for _ in range(10)))
    assert len([i for i in ids if i is not None]) == 1
    rows = await db.execute_read("SELECT attempts FROM message_logs")
    assert rows == [{"attempts": 1}]


async def test_store_edit_replaces_content_only(db: AsyncDatabase) -> None:
    first = await webhook_events.store_received(db, message(content="v1"))
    again = await webhook_events.store_edit(db, message(content="v2"))
    row = await db.execute_one("SELECT content, attempts, status FROM message_logs")
    assert again == first
    assert row == {"content": "v2", "attempts": 1, "status": "received"}


async def test_stored_message_is_found_by_full_text_search(db: AsyncDatabase) -> None:
    await webhook_events.store_received(db, message(content="消息转发失败了"))
    await webhook_events.store_edit(db, message(content="edited: 重新转发成功"))
    found, _ = await message_logs.page(db, LogFilter(q="重新转发"))
    assert [row["content"] for row in found] == ["edited: 重新转发成功"]
    assert (await message_logs.page(db, LogFilter(q="消息转发失败")))[0] == []


# The FTS5 index and its writer-filled tail are SQLite's (PostgreSQL's trigram indexes are
# kept by each statement).
@pytest.mark.engines("sqlite")
async def test_the_search_index_holds_the_edits_text(db: AsyncDatabase) -> None:
    await webhook_events.store_received(db, message(content="消息转发失败了"))
    await webhook_events.store_edit(db, message(content="edited: 重新转发成功"))
    # In the index itself, with the edit's text, once the writer's tail is taken in.
    await db.flush_search_index()
    stale = await db.execute_read(
        "SELECT rowid FROM message_fts WHERE message_fts MATCH ?", ("消息转发失败",)
    )
    assert stale == []
    hits = await db.execute_read(
        "SELECT rowid FROM message_fts WHERE message_fts MATCH ?", ("重新转发",)
    )
    assert len(hits) == 1


async def test_store_notifies_change_listeners(db: AsyncDatabase) -> None:
    changed: list[int] = []
    db.add_change_listener(changed.extend)
    log_id = await webhook_events.store_received(db, message())
    assert log_id is not None
    await webhook_events.store_edit(db, message(content="v2"))
    assert changed == [log_id, log_id]


async def test_prune_forgets_only_older_ids(db: AsyncDatabase) -> None:
    await webhook_events.remember(db, "kook", "old")
    cutoff = now_ms() + 1
    await asyncio.sleep(0.01)
    await webhook_events.remember(db, "kook", "new")
    assert await webhook_events.prune(db, cutoff) == 1
    assert await webhook_events.seen(db, "kook", "old") is False
    assert await webhook_events.seen(db, "kook", "new") is True


async def test_remember_renews_a_record_older_than_the_window(db: AsyncDatabase) -> None:
    key = webhook_events.event_key("1", "msg-a")
    assert await webhook_events.remember(db, "kook", key) is True
    await db.execute_write("UPDATE webhook_events SET created_at = 0")
    window_start = now_ms() - 60_000
    assert await webhook_events.remember(db, "kook", key, window_start) is True
    assert await webhook_events.seen(db, "kook", key, window_start) is True
    assert await webhook_events.remember(db, "kook", key, window_start) is False


async def test_event_key_keeps_the_message_a_reused_number_carries(db: AsyncDatabase) -> None:
    await webhook_events.remember(db, "kook", webhook_events.event_key("1", "msg-a"))
    assert await webhook_events.seen(db, "kook", webhook_events.event_key("1", "msg-a"))
    assert not await webhook_events.seen(db, "kook", webhook_events.event_key("1", "msg-b"))
