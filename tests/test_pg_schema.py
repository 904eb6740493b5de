"""storage/postgres/schema.py and triggers.py: SQLite's v9 schema on PostgreSQL, through asyncpg."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from storage.errors import MigrationError
from storage.layout import COUNT_BUCKET_MS, FOLDED_TO, LATENCY_ROUNDED, LATENCY_TABLES
from storage.legacy import filters as legacy_filters
from storage.message_logs import LOG_UPSERT
from storage.postgres import schema, triggers
from storage.sqlite import schema as sqlite_schema
from storage.webhook_events import _INSERT_RECEIVED, Received

# SQLite-only: the FTS5 index and its progress mark, AUTOINCREMENT's marks.
SQLITE_ONLY_TABLES = {"fts_progress", "sqlite_sequence"}
SQLITE_ONLY_TRIGGERS = {"message_logs_ai", "message_logs_ad", "message_logs_au"}  # FTS5
HOUR = COUNT_BUCKET_MS
T0 = 1_700_000_000_000


@pytest.fixture
async def raw(pg_database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(pg_database)
    yield conn
    await conn.close()


@pytest.fixture
async def conn(raw: asyncpg.Connection) -> asyncpg.Connection:
    assert await schema.migrate(raw) == schema.LATEST_VERSION
    return raw


def sqlite_v9() -> sqlite3.Connection:
    lite = sqlite3.connect(":memory:", isolation_level=None)
    sqlite_schema.migrate(lite)
    assert sqlite_schema.user_version(lite) == 9
    return lite


def numbered(sql: str) -> str:
    """The engine's placeholder translation, for domain SQL without '?' in literals."""
    head, *rest = sql.split("?")
    return head + "".join(f"${i}{part}" for i, part in enumerate(rest, 1))


async def public_tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def add_route(
    conn: asyncpg.Connection, channel: str, platform: str, target: str,
    source: str = "kook", enabled: int = 1,
) -> int:
    route_id: int = await conn.fetchval(
        "INSERT INTO forward_routes (source_platform, source_channel, target_platform, "
        "target_channel, enabled) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        source, channel, platform, target, enabled,
    )
    return route_id


async def receive(
    conn: asyncpg.Connection, message_id: str, channel: str = "c1", content: str = "hello",
    sender: str | None = "alice", message_type: str = "text", source: str | None = None,
) -> int:
    log_id: int = await conn.fetchval(
        "INSERT INTO message_logs (kook_message_id, kook_channel_id, content, message_type, "
        "sender_name, status, source_platform) VALUES ($1, $2, $3, $4, $5, 'received', $6) "
        "RETURNING id",
        message_id, channel, content, message_type, sender, source,
    )
    return log_id


async def queued(conn: asyncpg.Connection, message_id: str) -> list[tuple[str, str]]:
    rows = await conn.fetch(
        "SELECT target_platform, target_channel FROM message_logs WHERE kook_message_id = $1 "
        "AND route_id IS NOT NULL AND next_attempt_at IS NOT NULL ORDER BY id",
        message_id,
    )
    return [(r[0], r[1]) for r in rows]


async def deliver(conn: asyncpg.Connection, message_id: str, sent_id: str) -> int:
    """A queued delivery of `message_id` succeeded as the target's message `sent_id`."""
    row_id: int = await conn.fetchval(
        "UPDATE message_logs SET status = 'success', next_attempt_at = NULL, "
        "sent_message_id = $2 WHERE id = (SELECT min(id) FROM message_logs "
        "WHERE kook_message_id = $1 AND route_id IS NOT NULL) RETURNING id",
        message_id, sent_id,
    )
    return row_id


# -- migration ----------------------------------------------------------------------------

async def test_migrate_on_an_empty_database_makes_every_table(raw: asyncpg.Connection) -> None:
    assert await schema.migrate(raw) == 9
    lite = sqlite_v9()
    sqlite_tables = {
        name for (name,) in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE "
            "'CREATE VIRTUAL%' AND name NOT LIKE 'message_fts%'")
    }
    assert await public_tables(raw) == sqlite_tables - SQLITE_ONLY_TABLES
    assert await raw.fetchval("SELECT value FROM msglog_meta WHERE key = 'schema_version'") == "9"


async def test_every_table_has_sqlites_columns(conn: asyncpg.Connection) -> None:
    lite = sqlite_v9()
    for table in schema.TABLES:
        expected = [r[1] for r in lite.execute(f"PRAGMA table_info({table})")]
        rows = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = $1 "
            "ORDER BY ordinal_position", table)
        assert [r[0] for r in rows] == expected, table


async def test_sqlites_indexes_and_triggers_all_exist(conn: asyncpg.Connection) -> None:
    lite = sqlite_v9()
    indexes = {n for (n,) in lite.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'")}
    sqlite_triggers = {n for (n,) in lite.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    pg_indexes = {r[0] for r in await conn.fetch("SELECT indexname FROM pg_indexes "
                                                  "WHERE schemaname = 'public'")}
    pg_triggers = {r[0] for r in await conn.fetch(
        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")}
    assert indexes <= pg_indexes
    assert sqlite_triggers - SQLITE_ONLY_TRIGGERS <= pg_triggers
    assert pg_triggers == set(triggers.TRIGGERS)


async def _catalog(conn: asyncpg.Connection) -> list[Any]:
    return [tuple(r) for r in await conn.fetch(
        "SELECT c.oid, c.relname FROM pg_class AS c WHERE c.relnamespace = 'public'::regnamespace "
        "UNION ALL SELECT t.oid, t.tgname FROM pg_trigger AS t WHERE NOT t.tgisinternal "
        "UNION ALL SELECT p.oid, p.proname FROM pg_proc AS p "
        "WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1")]


async def test_migrating_again_changes_nothing(conn: asyncpg.Connection) -> None:
    before = await _catalog(conn)
    await receive(conn, "m1")
    assert await schema.migrate(conn) == 9
    assert await _catalog(conn) == before
    assert await conn.fetchval("SELECT count(*) FROM message_logs") == 1


async def test_concurrent_migrations_both_succeed_and_migrate_once(pg_database: str) -> None:
    blocker, first, second = [await asyncpg.connect(pg_database) for _ in range(3)]
    try:
        # Hold the lock so both migrations are surely waiting on it at the same time.
        async with blocker.transaction():
            await blocker.execute("SELECT pg_advisory_xact_lock($1)", schema.MIGRATION_LOCK_KEY)
            both = asyncio.gather(schema.migrate(first), schema.migrate(second))
            for _ in range(100):
                waiting = await blocker.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                if waiting == 2:
                    break
                await asyncio.sleep(0.05)
            assert waiting == 2
        assert list(await both) == [9, 9]
        assert await blocker.fetchval("SELECT count(*) FROM msglog_meta") == 1
        assert await blocker.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgname = 'forward_ai'") == 1
        assert await blocker.fetchval("SELECT count(*) FROM stats_progress") == 1
    finally:
        for c in (blocker, first, second):
            await c.close()


async def test_tables_msglog_did_not_make_are_refused(raw: asyncpg.Connection) -> None:
    await raw.execute("CREATE TABLE accounts (name text)")
    with pytest.raises(MigrationError, match="already has accounts"):
        await schema.migrate(raw)
    assert await public_tables(raw) == {"accounts"}


async def test_pg_trgm_that_cannot_be_created_is_a_migration_error(
    raw: asyncpg.Connection,
) -> None:
    # A trusted extension needs CREATE on the database: take it away from its owner.
    name = await raw.fetchval("SELECT current_database()")
    await raw.execute(f'REVOKE CREATE ON DATABASE "{name}" FROM CURRENT_USER')
    with pytest.raises(MigrationError, match="pg_trgm") as caught:
        await schema.migrate(raw)
    assert "CREATE EXTENSION pg_trgm" in str(caught.value)
    assert await public_tables(raw) == set()


# -- forwarding ---------------------------------------------------------------------------

async def test_a_received_row_queues_one_pending_row_per_enabled_matching_route(
    conn: asyncpg.Connection,
) -> None:
    telegram = await add_route(conn, "c1", "telegram", "t1")
    discord = await add_route(conn, "c1", "discord", "d1")
    await add_route(conn, "c1", "feishu", "f1", enabled=0)
    await add_route(conn, "c2", "telegram", "t2")
    await add_route(conn, "c1", "kook", "k1", source="telegram")
    before = await conn.fetchval(f"SELECT {triggers.NOW_MS}")
    await receive(conn, "m1", content="你好")
    rows = await conn.fetch(
        "SELECT * FROM message_logs WHERE route_id IS NOT NULL ORDER BY id")
    assert [(r["target_platform"], r["target_channel"], r["route_id"]) for r in rows] == [
        ("telegram", "t1", telegram), ("discord", "d1", discord)]
    for r in rows:
        assert (r["kook_message_id"], r["kook_channel_id"], r["content"], r["sender_name"],
                r["message_type"]) == ("m1", "c1", "你好", "alice", "text")
        assert (r["status"], r["attempts"], r["source_platform"]) == ("pending", 0, "kook")
        assert r["next_attempt_at"] >= before
        assert r["created_at"] == r["updated_at"] == r["next_attempt_at"]


async def test_a_tg_message_id_makes_a_telegram_source(conn: asyncpg.Connection) -> None:
    await add_route(conn, "c1", "kook", "k1", source="telegram")
    await receive(conn, "TG:1")  # SQLite's LIKE ignores ASCII case too
    await receive(conn, "m2", source="telegram")
    await receive(conn, "tg:3", source="kook")
    assert await queued(conn, "TG:1") == [("kook", "k1")]
    assert await queued(conn, "m2") == [("kook", "k1")]
    assert await queued(conn, "tg:3") == []


async def test_only_a_received_row_queues_deliveries(conn: asyncpg.Connection) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    await conn.execute(
        "INSERT INTO message_logs (kook_message_id, kook_channel_id, target_platform, "
        "target_channel, status) VALUES ('m1', 'c1', 'discord', 'x', 'success')")
    assert await conn.fetchval("SELECT count(*) FROM message_logs") == 1


async def test_a_received_message_logged_again_queues_nothing_more(
    conn: asyncpg.Connection,
) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    params = Received("m1", "c1", "hi", "text", "alice", "kook").params()
    first = await conn.fetch(numbered(_INSERT_RECEIVED), *params)
    again = await conn.fetch(numbered(_INSERT_RECEIVED), *params)
    assert len(first) == 1 and again == []
    assert await queued(conn, "m1") == [("telegram", "t1")]


async def test_msglogs_own_message_is_not_forwarded_again(conn: asyncpg.Connection) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    await add_route(conn, "t1", "kook", "c1", source="telegram")
    await receive(conn, "m1")
    await deliver(conn, "m1", "tg:77")
    # msglog's post in t1 comes back to it as a received telegram message.
    await receive(conn, "tg:77", channel="t1")
    assert await queued(conn, "tg:77") == []


async def test_msglogs_own_earlier_part_is_not_forwarded_again(conn: asyncpg.Connection) -> None:
    await add_route(conn, "t1", "kook", "c1", source="telegram")
    await conn.execute("INSERT INTO sent_parts (log_id, part, sent_id) VALUES (1, 1, 'tg:5')")
    await receive(conn, "tg:5", channel="t1")
    assert await queued(conn, "tg:5") == []


async def test_an_echo_that_came_first_is_taken_back_once_the_delivery_is_recorded(
    conn: asyncpg.Connection,
) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    await add_route(conn, "t1", "kook", "c1", source="telegram")
    await receive(conn, "m1")
    await receive(conn, "tg:77", channel="t1")
    assert await queued(conn, "tg:77") == [("kook", "c1")]
    await deliver(conn, "m1", "tg:77")
    assert await queued(conn, "tg:77") == []
    # The received row itself stays: only what it queued goes.
    assert await conn.fetchval(
        "SELECT count(*) FROM message_logs WHERE kook_message_id = 'tg:77'") == 1


async def test_a_sent_part_records_progress_and_takes_back_its_echo(
    conn: asyncpg.Connection,
) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    await add_route(conn, "t1", "kook", "c1", source="telegram")
    await receive(conn, "m1")
    delivery = await conn.fetchval("SELECT id FROM message_logs WHERE route_id IS NOT NULL")
    await receive(conn, "tg:8", channel="t1")
    part_sent = (
        "INSERT INTO sent_parts (log_id, part, sent_id) VALUES ($1, $2, $3) "
        "ON CONFLICT (log_id, part) DO UPDATE SET sent_id = excluded.sent_id"
    )
    await conn.execute(part_sent, delivery, 1, "tg:8")
    assert await conn.fetchval("SELECT parts_sent FROM message_logs WHERE id = $1",
                               delivery) == 1
    assert await queued(conn, "tg:8") == []
    # The same part recorded again (the upsert's UPDATE path) does the same.
    await receive(conn, "tg:9", channel="t1")
    await conn.execute(part_sent, delivery, 1, "tg:9")
    assert await queued(conn, "tg:9") == []


async def test_deleting_a_delivery_deletes_its_parts(conn: asyncpg.Connection) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    await receive(conn, "m1")
    delivery = await conn.fetchval("SELECT id FROM message_logs WHERE route_id IS NOT NULL")
    await conn.execute("INSERT INTO sent_parts VALUES ($1, 1, 'a'), ($1, 2, 'b')", delivery)
    await conn.execute("INSERT INTO sent_parts VALUES (999, 1, 'other')")
    await conn.execute("DELETE FROM message_logs")
    assert [tuple(r) for r in await conn.fetch("SELECT * FROM sent_parts")] == [
        (999, 1, "other")]


async def test_removing_a_route_ends_its_queued_deliveries(conn: asyncpg.Connection) -> None:
    route = await add_route(conn, "c1", "telegram", "t1")
    kept = await add_route(conn, "c1", "discord", "d1")
    await receive(conn, "m1")
    await receive(conn, "m2")
    await deliver(conn, "m1", "tg:1")
    await conn.execute("DELETE FROM forward_routes WHERE id = $1", route)
    rows = await conn.fetch(
        "SELECT kook_message_id, route_id, status, error_message, next_attempt_at IS NULL "
        "FROM message_logs WHERE route_id IS NOT NULL ORDER BY id")
    assert [tuple(r) for r in rows] == [
        ("m1", route, "success", None, True),
        ("m1", kept, "pending", None, False),
        ("m2", route, "dead", "route removed", True),
        ("m2", kept, "pending", None, False),
    ]


FILTER_CASES = [
    # (kind, terms, scope, message fields, queued?)
    ("keyword_block", ["spam"], None, {"content": "Buy SPAM now"}, False),
    ("keyword_block", ["spam"], None, {"content": "all fine"}, True),
    ("keyword_block", ["spam"], "c9", {"content": "spam"}, True),
    ("keyword_block", ["spam"], "c1", {"content": "spam"}, False),
    ("keyword_block", ["转发"], None, {"content": "消息转发失败了"}, False),
    # SQLite's lower() folds ASCII only: 'É' stays 'É' and never matches 'é'.
    ("keyword_block", ["école"], None, {"content": "ÉCOLE"}, True),
    ("keyword_allow", ["urgent"], None, {"content": "not this"}, False),
    ("keyword_allow", ["urgent"], None, {"content": "URGENT: yes"}, True),
    ("sender_block", ["bob"], None, {"sender": "bob"}, False),
    ("sender_block", ["bob"], None, {"sender": "Bob"}, True),
    ("sender_allow", ["bob"], None, {"sender": "alice"}, False),
    ("sender_allow", ["bob"], None, {"sender": None}, False),
    ("type_allow", ["text"], None, {"message_type": "image"}, False),
    ("type_allow", ["text", "image"], None, {"message_type": "image"}, True),
]


@pytest.mark.parametrize(("kind", "terms", "scope", "fields", "forwarded"), FILTER_CASES)
async def test_applied_forward_filters_decide_what_is_queued(
    conn: asyncpg.Connection, kind: str, terms: list[str], scope: str | None,
    fields: dict[str, Any], forwarded: bool,
) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    rule_type = {v: k for k, v in legacy_filters.KINDS.items()}[kind]
    rule = legacy_filters.interpret(
        {"rule_type": rule_type, "rule_value": json.dumps(terms), "scope": scope})
    assert rule.applies
    await conn.execute(
        numbered(legacy_filters.INSERT.replace("INSERT OR IGNORE", "INSERT")),
        *legacy_filters.params(rule, "test"))
    await receive(conn, "m1", **fields)
    assert await queued(conn, "m1") == ([("telegram", "t1")] if forwarded else [])


async def test_a_filter_not_applied_stops_nothing(conn: asyncpg.Connection) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    rule = legacy_filters.interpret(
        {"rule_type": "keyword_blacklist", "rule_value": '["spam"]', "enabled": 0})
    assert not rule.applies
    await conn.execute(
        numbered(legacy_filters.INSERT.replace("INSERT OR IGNORE", "INSERT")),
        *legacy_filters.params(rule, "test"))
    await receive(conn, "m1", content="spam")
    assert await queued(conn, "m1") == [("telegram", "t1")]


# -- the change log -----------------------------------------------------------------------

async def test_log_changes_grow_on_every_insert_and_update(conn: asyncpg.Connection) -> None:
    first = await receive(conn, "m1")
    second = await receive(conn, "m2")
    await conn.execute("UPDATE message_logs SET attempts = attempts + 1")
    await conn.execute("UPDATE message_logs SET content = 'x' WHERE id = $1", first)
    rows = await conn.fetch("SELECT seq, log_id FROM log_changes ORDER BY seq")
    assert [r["log_id"] for r in rows] == [first, second, first, second, first]
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(set(seqs))


async def test_listeners_hear_of_changes_after_commit(pg_database: str,
                                                      conn: asyncpg.Connection) -> None:
    heard: asyncio.Queue[str] = asyncio.Queue()
    listener = await asyncpg.connect(pg_database)
    try:
        await listener.add_listener(triggers.CHANGES_CHANNEL,
                                    lambda *args: heard.put_nowait(args[3]))
        async with conn.transaction():
            await receive(conn, "m1")
            await receive(conn, "m2")
            await asyncio.sleep(0.2)
            assert heard.empty()
        last = await conn.fetchval("SELECT max(seq) FROM log_changes")
        # One per statement (the statement's last number), in order; the last is the
        # newest number.
        payloads = [await asyncio.wait_for(heard.get(), 5)]
        while payloads[-1] != str(last):
            payloads.append(await asyncio.wait_for(heard.get(), 5))
        assert [int(p) for p in payloads] == sorted({int(p) for p in payloads})
    finally:
        await listener.close()


async def test_a_second_writer_waits_until_the_first_commits(
    pg_database: str, conn: asyncpg.Connection,
) -> None:
    other = await asyncpg.connect(pg_database)
    try:
        async with conn.transaction():
            await receive(conn, "m1")
            late = asyncio.ensure_future(receive(other, "m2"))
            await asyncio.sleep(0.3)
            assert not late.done()
        await asyncio.wait_for(late, 5)
        rows = await conn.fetch("SELECT log_id FROM log_changes ORDER BY seq")
        ids = await conn.fetch("SELECT id FROM message_logs ORDER BY kook_message_id")
        assert [r[0] for r in rows] == [r[0] for r in ids]
    finally:
        await other.close()


async def test_the_change_log_keeps_the_newest_numbers(conn: asyncpg.Connection) -> None:
    assert triggers.CHANGES_KEPT == sqlite_schema.CHANGES_KEPT
    rows = triggers.CHANGES_KEPT + triggers.TRIM_EVERY + 5
    await conn.execute(
        "INSERT INTO message_logs (kook_message_id, kook_channel_id, status) "
        "SELECT 'm' || i, 'c1', 'success' FROM generate_series(1, $1) AS i", rows)
    oldest, latest = await conn.fetchrow("SELECT min(seq), max(seq) FROM log_changes")
    assert latest == rows
    assert oldest == latest - triggers.CHANGES_KEPT + 1


# -- statistics rollups -------------------------------------------------------------------

async def assert_rollups_exact(conn: asyncpg.Connection) -> None:
    counted = await conn.fetch(
        f"SELECT created_at - created_at % {HOUR}, status, target_platform, count(*) "
        "FROM message_logs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
    rolled = await conn.fetch(
        "SELECT bucket, status, platform, n FROM stats_counts WHERE n <> 0 ORDER BY 1, 2, 3")
    assert [tuple(r) for r in rolled] == [tuple(r) for r in counted]
    assert counted  # something was counted
    rounded = LATENCY_ROUNDED.format(l="latency_ms")
    for table, span in LATENCY_TABLES.items():
        counted = await conn.fetch(
            f"SELECT created_at - created_at % {span}, status, target_platform, {rounded}, "
            "count(*) FROM message_logs WHERE latency_ms IS NOT NULL "
            "GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4")
        rolled = await conn.fetch(
            f"SELECT bucket, status, platform, latency, n FROM {table} WHERE n <> 0 "
            "ORDER BY 1, 2, 3, 4")
        assert [tuple(r) for r in rolled] == [tuple(r) for r in counted], table


ROWS = [
    # (message, platform, status, latency, created_at)
    (f"m{i}", ["telegram", "discord", "kook"][i % 3],
     ["success", "failed", "pending", "dead"][i % 4],
     None if i % 5 == 0 else i * 37 % 5000, T0 + i * 997_000)
    for i in range(60)
]


async def insert_rows(conn: asyncpg.Connection) -> None:
    await add_route(conn, "c1", "telegram", "t1")
    # One multi-row statement, and one statement per row.
    await conn.execute(
        "INSERT INTO message_logs (kook_message_id, target_platform, status, latency_ms, "
        "created_at, kook_channel_id) SELECT *, 'c1' FROM unnest($1::text[], $2::text[], "
        "$3::text[], $4::bigint[], $5::bigint[])",
        *[list(column) for column in zip(*ROWS[:40], strict=True)])
    await conn.executemany(
        "INSERT INTO message_logs (kook_message_id, target_platform, status, latency_ms, "
        "created_at, kook_channel_id) VALUES ($1, $2, $3, $4, $5, 'c1')", ROWS[40:])
    await receive(conn, "r1")  # and the delivery its trigger queues


async def test_rollups_are_exact_after_inserts(conn: asyncpg.Connection) -> None:
    await insert_rows(conn)
    assert await conn.fetchval("SELECT count(*) FROM message_logs") == len(ROWS) + 2
    await assert_rollups_exact(conn)


async def test_rollups_are_exact_after_updates(conn: asyncpg.Connection) -> None:
    await insert_rows(conn)
    await conn.execute("UPDATE message_logs SET status = 'success' WHERE status = 'failed'")
    await conn.execute("UPDATE message_logs SET latency_ms = 12 WHERE id % 7 = 0")
    await conn.execute("UPDATE message_logs SET latency_ms = NULL WHERE id % 11 = 0")
    await conn.execute(f"UPDATE message_logs SET created_at = created_at + {3 * HOUR} "
                       "WHERE id % 3 = 0")
    await conn.execute("UPDATE message_logs SET target_platform = 'feishu' WHERE id = 5")
    await conn.execute("UPDATE message_logs SET attempts = attempts + 1")
    await assert_rollups_exact(conn)


async def test_rollups_are_exact_after_upserts(conn: asyncpg.Connection) -> None:
    await insert_rows(conn)
    now = T0 + 5 * HOUR
    rows = [("m1", "discord", "", "c1", None, None, None, "failed", "x", 99, now, now, None),
            ("new", "kook", "", "c1", None, None, None, "success", None, 5, now, now, None)]
    await conn.executemany(numbered(LOG_UPSERT.single()), rows)
    assert await conn.fetchval(
        "SELECT attempts FROM message_logs WHERE kook_message_id = 'm1'") == 2
    await assert_rollups_exact(conn)


async def test_rollups_are_exact_after_deletes(conn: asyncpg.Connection) -> None:
    await insert_rows(conn)
    await conn.execute("DELETE FROM message_logs WHERE id % 2 = 0")
    await conn.execute("DELETE FROM message_logs WHERE id = 1")
    await assert_rollups_exact(conn)


async def test_the_domain_finds_no_rows_left_to_fold(conn: asyncpg.Connection) -> None:
    await insert_rows(conn)
    assert await conn.fetchval(f"SELECT count(*) FROM message_logs WHERE id > {FOLDED_TO}") == 0


async def test_the_queue_head_is_read_from_ix_logs_due(conn: asyncpg.Connection) -> None:
    for target in ("t1", "t2", "t3"):
        await add_route(conn, "c1", "telegram", target)
    await conn.execute(
        "INSERT INTO message_logs (kook_message_id, kook_channel_id, status) "
        "SELECT 'm' || i, 'c1', 'received' FROM generate_series(1, 2000) AS i")
    # Most deliveries are done: the queue is a small part of each route's rows.
    await conn.execute("UPDATE message_logs SET status = 'success', next_attempt_at = NULL "
                       "WHERE route_id IS NOT NULL AND id % 20 <> 0")
    await conn.execute("ANALYZE message_logs")
    plan = "\n".join(r[0] for r in await conn.fetch(
        "EXPLAIN SELECT id, next_attempt_at FROM message_logs WHERE route_id = $1 "
        "AND next_attempt_at IS NOT NULL ORDER BY id LIMIT 1", 2))
    assert "ix_logs_due" in plan, plan


# -- search -------------------------------------------------------------------------------

async def test_ilike_finds_a_chinese_substring(conn: asyncpg.Connection) -> None:
    await receive(conn, "m1", content="消息转发失败了")
    await receive(conn, "m2", content="一切正常")
    await conn.execute("UPDATE message_logs SET error_message = '转发超时' WHERE id = 2")
    found = await conn.fetch(
        "SELECT kook_message_id FROM message_logs WHERE content ILIKE $1 "
        "OR sender_name ILIKE $1 OR error_message ILIKE $1 ORDER BY id", "%转发%")
    assert [r[0] for r in found] == ["m1", "m2"]


async def test_the_trigram_indexes_serve_a_substring_search(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "INSERT INTO message_logs (kook_message_id, kook_channel_id, content, sender_name, "
        "status) SELECT 'm' || i, 'c1', CASE WHEN i % 1000 = 0 THEN '消息转发失败了' "
        "ELSE md5(i::text) END, 'user' || (i % 50), 'success' "
        "FROM generate_series(1, 4000) AS i")
    await conn.execute("ANALYZE message_logs")
    sql = ("SELECT id FROM message_logs WHERE content ILIKE $1 OR sender_name ILIKE $1 "
           "OR error_message ILIKE $1")
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in await conn.fetch(f"EXPLAIN {sql}", "%转发失败%"))
    for index in ("ix_logs_content_trgm", "ix_logs_sender_trgm", "ix_logs_error_trgm"):
        assert index in plan, plan
    assert len(await conn.fetch(sql, "%转发失败%")) == 4


# -- ids ----------------------------------------------------------------------------------

async def test_an_explicit_id_is_kept_and_the_identity_moves_only_when_bumped(
    conn: asyncpg.Connection,
) -> None:
    insert = "INSERT INTO accounts (email) VALUES ($1) RETURNING id"
    assert await conn.fetchval(
        "INSERT INTO accounts (id, email) VALUES (100, 'old@x.com') RETURNING id") == 100
    assert await conn.fetchval(insert, "a@x.com") == 1  # the identity never saw 100
    marks = await schema.bump_sequences(conn)
    assert marks["accounts"] == 100
    assert await conn.fetchval(insert, "b@x.com") == 101


async def test_bump_sequences_never_moves_an_identity_back(conn: asyncpg.Connection) -> None:
    await conn.execute("INSERT INTO forward_routes (id, source_platform, source_channel, "
                       "target_platform, target_channel) VALUES (50, 'kook', 'c', 'kook', 'd')")
    assert (await schema.bump_sequences(conn))["forward_routes"] == 50
    await conn.execute("DELETE FROM forward_routes")
    marks = await schema.bump_sequences(conn)
    assert marks["forward_routes"] == 50
    assert marks["message_logs"] == 0  # never used: left alone
    assert await add_route(conn, "c", "kook", "d") == 51


async def test_bump_sequences_moves_past_the_sources_own_marks(
    conn: asyncpg.Connection,
) -> None:
    # The source handed out message ids up to 500, though its highest row left is 7.
    await conn.execute("INSERT INTO message_logs (id, kook_message_id, kook_channel_id) "
                       "VALUES (7, 'm7', 'c1')")
    marks = await schema.bump_sequences(conn, {"message_logs": 500})
    assert marks["message_logs"] == 500
    assert await receive(conn, "m8") == 501
    with pytest.raises(ValueError, match="sent_parts"):
        await schema.bump_sequences(conn, {"sent_parts": 1})


# -- keys ---------------------------------------------------------------------------------

async def test_emails_are_unique_whatever_their_case(conn: asyncpg.Connection) -> None:
    await conn.execute("INSERT INTO accounts (email) VALUES ('A@x.com')")
    with pytest.raises(asyncpg.UniqueViolationError):
        await conn.execute("INSERT INTO accounts (email) VALUES ('a@X.COM')")


async def test_a_message_logged_again_for_the_same_target_updates_its_row(
    conn: asyncpg.Connection,
) -> None:
    row = ["m1", "telegram", "t1", "c1", "hi", "text", "alice", "failed", "boom", None,
           T0, T0, "kook"]
    first = await conn.fetchval(numbered(LOG_UPSERT.single()), *row)
    row[7:10] = ["success", None, 42]
    again = await conn.fetchval(numbered(LOG_UPSERT.single()), *row)
    assert again == first
    assert tuple(await conn.fetchrow(
        "SELECT status, error_message, latency_ms, attempts FROM message_logs")) == (
        "success", None, 42, 2)
