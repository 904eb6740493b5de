"""The delivery queue through the storage API: routes, queued rows, outcomes, resend."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from storage import AsyncDatabase, deliveries, forward_routes
from storage.deliveries import NotResendable
from storage.forward_routes import DuplicateRoute, NewRoute
from storage.secretbox import SecretBox
from storage.sqlite.dialect import SqliteDialect

pytestmark = pytest.mark.engines("sqlite", "postgres")

HOOK = "https://discord.example/api/webhooks/1/very-secret-token"


def route(channel: str = "chan", target: str = "general", **kw: object) -> NewRoute:
    values: dict[str, object] = {
        "source_platform": "kook",
        "source_channel": channel,
        "target_platform": "discord",
        "target_channel": target,
        "target_url": HOOK,
    }
    values.update(kw)
    return NewRoute(**values)  # type: ignore[arg-type]


async def receive(db: AsyncDatabase, msg: str, channel: str = "chan") -> int:
    return await db.add_message_log_async(
        msg, channel, f"text of {msg}", "text", "ann", None, None, "received"
    )


async def queued(db: AsyncDatabase) -> list[dict[str, object]]:
    return await db.execute_read(
        "SELECT kook_message_id, target_platform, target_channel, status, route_id, "
        "source_platform, attempts FROM message_logs WHERE next_attempt_at IS NOT NULL "
        "ORDER BY id"
    )


async def test_received_message_queues_one_pending_row_per_matching_route(
    db: AsyncDatabase,
) -> None:
    a = await forward_routes.add(db, route(target="general"))
    b = await forward_routes.add(db, route(target="other"))
    await forward_routes.add(db, route(channel="elsewhere"))
    await receive(db, "m1")
    rows = await queued(db)
    assert [(r["target_channel"], r["route_id"], r["status"]) for r in rows] == [
        ("general", a, "pending"), ("other", b, "pending"),
    ]
    assert {r["source_platform"] for r in rows} == {"kook"}


async def test_disabled_route_queues_nothing(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await forward_routes.set_enabled(db, rid, False)
    await receive(db, "m1")
    assert await queued(db) == []


async def test_telegram_message_matches_only_telegram_routes(db: AsyncDatabase) -> None:
    await forward_routes.add(db, route(channel="-100", source_platform="telegram"))
    await forward_routes.add(db, route(channel="-100", target="kookish"))
    await receive(db, "tg:-100:5", channel="-100")
    rows = await queued(db)
    assert [(r["source_platform"], r["target_channel"]) for r in rows] == [
        ("telegram", "general")
    ]


async def test_pending_row_written_by_older_runtime_is_not_queued(db: AsyncDatabase) -> None:
    await forward_routes.add(db, route())
    await db.add_message_log_async("m1", "chan", "x", "text", "ann", "discord", "general",
                                   "pending")
    assert await queued(db) == []


async def test_redelivered_received_message_queues_nothing_more(db: AsyncDatabase) -> None:
    await forward_routes.add(db, route())
    await receive(db, "m1")
    await receive(db, "m1")
    assert len(await queued(db)) == 1


async def test_each_caller_of_a_merged_batch_gets_its_own_received_row_id(
    db_target: str | Path,
) -> None:
    async with AsyncDatabase(db_target, batch_size=50, flush_interval=0.05) as db:
        await forward_routes.add(db, route())
        ids = await asyncio.gather(*(receive(db, f"m{i}") for i in range(20)))
        rows = await db.execute_read(
            "SELECT id, kook_message_id FROM message_logs WHERE status = 'received'"
        )
    assert {r["id"]: r["kook_message_id"] for r in rows} == {
        row_id: f"m{i}" for i, row_id in enumerate(ids)
    }


async def test_queued_rows_come_in_id_order_per_route(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    for i in range(3):
        await receive(db, f"m{i}")
    lane = await deliveries.lane(db, rid, 10)
    assert [q.message_id for q in lane] == ["m0", "m1", "m2"]
    assert list((await deliveries.heads(db, [rid])).keys()) == [rid]


async def test_success_leaves_the_queue_with_its_latency(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    assert await deliveries.succeeded(db, row.id, 42, "sent-1")
    got = await db.execute_one("SELECT status, latency_ms, attempts, next_attempt_at "
                               "FROM message_logs WHERE id = ?", (row.id,))
    assert got == {"status": "success", "latency_ms": 42, "attempts": 1,
                   "next_attempt_at": None}


async def test_failure_stays_queued_until_its_retry_time(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    await deliveries.failed(db, row.id, "HTTP 500", 123456)
    (again,) = await deliveries.lane(db, rid, 10)
    assert (again.attempts, again.next_attempt_at) == (1, 123456)
    got = await db.execute_one("SELECT status, error_message FROM message_logs WHERE id = ?",
                               (row.id,))
    assert got == {"status": "failed", "error_message": "HTTP 500"}


async def test_dead_row_is_resent_as_pending(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    await deliveries.dead(db, row.id, "HTTP 404: Unknown Webhook")
    assert await deliveries.lane(db, rid, 10) == []
    await deliveries.resend(db, row.id)
    (back,) = await deliveries.lane(db, rid, 10)
    assert (back.id, back.attempts) == (row.id, 0)


async def test_success_row_cannot_be_resent(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    await deliveries.succeeded(db, row.id, 1)
    with pytest.raises(NotResendable):
        await deliveries.resend(db, row.id)


async def test_removed_route_ends_its_queued_rows_as_dead(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await receive(db, "m1")
    assert await forward_routes.remove(db, rid)
    got = await db.execute_one(
        "SELECT status, error_message FROM message_logs WHERE route_id = ?", (rid,)
    )
    assert got == {"status": "dead", "error_message": "route removed"}


async def test_second_identical_route_is_refused(db: AsyncDatabase) -> None:
    await forward_routes.add(db, route())
    with pytest.raises(DuplicateRoute):
        await forward_routes.add(db, route())


async def test_route_id_is_never_reused(db: AsyncDatabase) -> None:
    first = await forward_routes.add(db, route())
    await forward_routes.remove(db, first)
    assert await forward_routes.add(db, route()) > first


async def test_target_url_is_sealed_at_rest(db_target: str | Path) -> None:
    box = SecretBox([Fernet.generate_key()])
    async with AsyncDatabase(db_target, secret_box=box) as db:
        rid = await forward_routes.add(db, route())
        targets = await forward_routes.targets(db, [rid])
    assert targets[rid].url == HOOK
    async with AsyncDatabase(db_target) as db:  # no box: the column as stored
        row = await db.execute_one("SELECT target_url FROM forward_routes")
    assert row is not None
    stored = row["target_url"]
    assert HOOK not in stored and SecretBox.is_sealed(stored)


async def test_message_msglog_posted_itself_is_not_forwarded(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await forward_routes.add(db, route(channel="back", source_platform="kook",
                                       target_platform="kook", target="chan"))
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    await deliveries.succeeded(db, row.id, 5, "echo-1")
    await receive(db, "echo-1", channel="back")
    assert await queued(db) == []


async def test_own_message_arriving_before_its_delivery_was_recorded_is_taken_back(
    db: AsyncDatabase,
) -> None:
    rid = await forward_routes.add(db, route())
    await forward_routes.add(db, route(channel="back", target_platform="kook", target="chan"))
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    await receive(db, "echo-1", channel="back")
    await deliveries.succeeded(db, row.id, 5, "echo-1")
    assert await queued(db) == []


async def test_own_part_of_a_split_delivery_is_not_forwarded(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await forward_routes.add(db, route(channel="back", target_platform="kook", target="chan"))
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    await deliveries.part_sent(db, row.id, 1, "echo-part-1")
    await receive(db, "echo-part-1", channel="back")
    assert [r["kook_message_id"] for r in await queued(db)] == ["m1"]


async def test_own_part_arriving_before_it_was_recorded_is_taken_back(
    db: AsyncDatabase,
) -> None:
    rid = await forward_routes.add(db, route())
    await forward_routes.add(db, route(channel="back", target_platform="kook", target="chan"))
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    await receive(db, "echo-part-1", channel="back")
    await deliveries.part_sent(db, row.id, 1, "echo-part-1")
    assert [r["kook_message_id"] for r in await queued(db)] == ["m1"]


async def test_accepted_parts_are_kept_with_the_queued_row(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await receive(db, "m1")
    (row,) = await deliveries.lane(db, rid, 10)
    await deliveries.part_sent(db, row.id, 2, None)
    (again,) = await deliveries.lane(db, rid, 10)
    assert again.parts_sent == 2


async def test_queue_stats_count_waiting_and_dead_rows(db: AsyncDatabase) -> None:
    rid = await forward_routes.add(db, route())
    await receive(db, "m1")
    await receive(db, "m2")
    first = (await deliveries.lane(db, rid, 10))[0]
    await deliveries.dead(db, first.id, "gone")
    stats = await deliveries.queue_stats(db)
    assert (stats.queued, stats.dead) == (1, 1)
    assert stats.oldest_created_at is not None


# SQLite's EXPLAIN QUERY PLAN (PostgreSQL's plan test is in tests/test_pg_schema.py).
@pytest.mark.engines("sqlite")
@pytest.mark.parametrize("sql", [deliveries.HEAD, deliveries.LANE])
async def test_worker_reads_the_queue_index_not_every_delivery(db_path: Path, sql: str) -> None:
    async with AsyncDatabase(db_path) as db:
        await forward_routes.add(db, route())
    params = (1,) if sql.count("?") == 1 else (1, 10)
    queue = SqliteDialect.hinted("message_logs", "ix_logs_due")
    with sqlite3.connect(db_path) as conn:
        plan = [row[3] for row in conn.execute(
            f"EXPLAIN QUERY PLAN {sql.format(queue=queue)}", params)]
    assert any("ix_logs_due" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan
