"""The delivery queue: rows routes queued (next_attempt_at set), taken in id order per route.

A queued row is `pending` (not tried yet, or put back by a resend) or `failed` (waiting
for its retry); `success` and `dead` leave the queue. Everything the worker knows is
here, so a restart (even after SIGKILL) resumes where the last one stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import StorageError
from .interfaces import Store
from .timeutil import now_ms

QUEUED_COLUMNS = (
    "id, route_id, kook_message_id, kook_channel_id, content, message_type, sender_name, "
    "source_platform, target_platform, target_channel, attempts, next_attempt_at, created_at, "
    "parts_sent"
)
# `{queue}` is message_logs read through the queue's own partial index, named where the
# engine needs it: without statistics SQLite may take ix_logs_route (every row the route
# ever delivered), and the worker polls these constantly.
HEAD = (
    "SELECT id, next_attempt_at FROM {queue} "
    "WHERE route_id = ? AND next_attempt_at IS NOT NULL ORDER BY id LIMIT 1"
)
LANE = (
    f"SELECT {QUEUED_COLUMNS} FROM {{queue}} "
    "WHERE route_id = ? AND next_attempt_at IS NOT NULL ORDER BY id LIMIT ?"
)


def _queue(db: Store, sql: str) -> str:
    return sql.format(queue=db.dialect.hinted("message_logs", "ix_logs_due"))
RESENDABLE = ("failed", "dead")


class NotResendable(StorageError):
    """The row is not a route's delivery, or not failed or dead."""


class DeliveryNotFound(StorageError):
    """No row has this id."""


@dataclass(frozen=True, slots=True)
class Queued:
    """One delivery waiting in a route's queue."""

    id: int
    route_id: int
    message_id: str
    channel: str
    content: str | None
    message_type: str | None
    sender_name: str | None
    source_platform: str | None
    target_platform: str
    target_channel: str
    attempts: int
    next_attempt_at: int
    created_at: int
    parts_sent: int = 0

    @classmethod
    def of(cls, row: dict[str, Any]) -> Queued:
        return cls(
            id=int(row["id"]),
            route_id=int(row["route_id"]),
            message_id=str(row["kook_message_id"]),
            channel=str(row["kook_channel_id"]),
            content=row["content"],
            message_type=row["message_type"],
            sender_name=row["sender_name"],
            source_platform=row["source_platform"],
            target_platform=str(row["target_platform"]),
            target_channel=str(row["target_channel"]),
            attempts=int(row["attempts"]),
            next_attempt_at=int(row["next_attempt_at"]),
            created_at=int(row["created_at"]),
            parts_sent=int(row["parts_sent"]),
        )


async def heads(db: Store, route_ids: list[int]) -> dict[int, int]:
    """Each route's first queued row: route id -> when it is due (routes with none left out)."""

    head = _queue(db, HEAD)
    answers = await db.read_many([(head, (route_id,)) for route_id in route_ids])
    return {
        route_id: int(rows[0]["next_attempt_at"])
        for route_id, rows in zip(route_ids, answers, strict=True)
        if rows
    }


async def lane(db: Store, route_id: int, limit: int) -> list[Queued]:
    """A route's first `limit` queued rows, in the order they must be delivered."""
    rows = await db.execute_read(_queue(db, LANE), (route_id, limit))
    return [Queued.of(r) for r in rows]


async def _outcome(db: Store, row_id: int, sets: str, params: tuple[Any, ...]) -> bool:
    # Only a queued row: a removed route already ended it, and must stay ended.
    result = await db.execute_write(
        f"UPDATE message_logs SET {sets}, attempts = attempts + 1, updated_at = ? "
        "WHERE id = ? AND next_attempt_at IS NOT NULL",
        (*params, now_ms(), row_id),
    )
    if result.rowcount:
        db.notify_changed([row_id])
    return result.rowcount > 0


async def succeeded(
    db: Store, row_id: int, latency_ms: int, sent_message_id: str | None = None
) -> bool:
    """Delivered: the latency, and the target's id of the message msglog posted."""
    return await _outcome(
        db,
        row_id,
        "status = 'success', error_message = NULL, latency_ms = ?, next_attempt_at = NULL, "
        "sent_message_id = ?",
        (latency_ms, sent_message_id),
    )


async def part_sent(db: Store, row_id: int, parts: int, sent_id: str | None) -> None:
    """The target accepted the first `parts` parts of a split delivery (the last of them
    had id `sent_id`): a retry or a resend goes on from the next one."""
    await db.execute_write(
        "INSERT INTO sent_parts (log_id, part, sent_id) VALUES (?, ?, ?) "
        "ON CONFLICT (log_id, part) DO UPDATE SET sent_id = excluded.sent_id",
        (row_id, parts, sent_id),
    )


async def failed(db: Store, row_id: int, error: str, retry_at_ms: int) -> bool:
    """Not delivered this time: why, and when to try again."""
    return await _outcome(
        db,
        row_id,
        "status = 'failed', error_message = ?, next_attempt_at = ?",
        (error, retry_at_ms),
    )


async def dead(db: Store, row_id: int, error: str) -> bool:
    """Never to be tried again (unless resent): the last attempt failed, or retrying cannot help."""
    return await _outcome(
        db, row_id, "status = 'dead', error_message = ?, next_attempt_at = NULL", (error,)
    )


async def resend(db: Store, row_id: int) -> None:
    """Put a failed or dead delivery back in its route's queue, due now, attempts from 0."""
    now = now_ms()
    result = await db.execute_write(
        "UPDATE message_logs SET status = 'pending', attempts = 0, next_attempt_at = ?, "
        "updated_at = ? WHERE id = ? AND route_id IS NOT NULL "
        "AND status IN ('failed', 'dead') AND route_id IN (SELECT id FROM forward_routes)",
        (now, now, row_id),
    )
    if result.rowcount:
        db.notify_changed([row_id])
        return
    row = await db.execute_one(
        "SELECT status, route_id, (SELECT count(*) FROM forward_routes AS r "
        "WHERE r.id = m.route_id) AS route FROM message_logs AS m WHERE id = ?",
        (row_id,),
    )
    if row is None:
        raise DeliveryNotFound("no such message")
    if row["route_id"] is None:
        raise NotResendable("this row is not a delivery along a route")
    if not row["route"]:
        raise NotResendable("its route was removed")
    raise NotResendable(
        f"only a failed or dead delivery can be resent (this one is {row['status']})"
    )


@dataclass(frozen=True, slots=True)
class QueueStats:
    queued: int
    oldest_created_at: int | None
    dead: int


async def queue_stats(db: Store) -> QueueStats:
    """How many deliveries wait, since when the oldest, and how many are dead."""
    row = await db.execute_one(
        "SELECT (SELECT count(*) FROM message_logs WHERE next_attempt_at IS NOT NULL) AS n, "
        "(SELECT min(created_at) FROM message_logs WHERE next_attempt_at IS NOT NULL) AS oldest, "
        "(SELECT count(*) FROM message_logs WHERE status = 'dead') AS dead"
    )
    assert row is not None
    return QueueStats(int(row["n"]), row["oldest"], int(row["dead"]))
