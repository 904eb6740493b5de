"""The deliveries view: each forward route with its outcomes, and its latest deliveries.

Every read goes through the per-route partial indexes (schema v9's ix_logs_route_status
and ix_logs_route, v7's ix_logs_due), one route at a time, so the cost follows what a
route holds, never the size of message_logs. No target URL is ever selected.
"""

from __future__ import annotations

from typing import Any

from .interfaces import Statement, Store
from .timeutil import ms_to_iso

STATUSES = ("pending", "failed", "success", "dead")
ROUTE_COLUMNS = (
    "id, source_platform, source_channel, target_platform, target_channel, enabled"
)
COUNTS = "SELECT status, count(*) AS n FROM message_logs WHERE route_id = ? GROUP BY status"
# Deliveries are queued by trigger at the time they are stored, so ids follow created_at
# within a route: the queue's first row by id is its oldest, found in one index step
# (min(created_at) would read the whole queue of a target that has been down for days).
# Named: without statistics SQLite prefers ix_logs_route here and walks every row the
# route ever delivered to reach its queue.
OLDEST_WAITING = (
    "SELECT created_at FROM {queue} "
    "WHERE route_id = ? AND next_attempt_at IS NOT NULL ORDER BY id LIMIT 1"
)
# A route delivers in id order, so its newest success by id is its last one (a resent
# older row that succeeds later shows once a newer one does).
NEWEST = (
    "SELECT id, error_message, updated_at FROM message_logs "
    "WHERE route_id = ? AND status = ? ORDER BY id DESC LIMIT 1"
)
DELIVERY_COLUMNS = (
    "id", "status", "attempts", "error_message", "latency_ms", "created_at", "updated_at",
    "content", "sender_name", "kook_message_id",
)
PAGE = (
    f"SELECT {', '.join(DELIVERY_COLUMNS)} FROM message_logs "
    "WHERE route_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
)
# Above every row id: the first page has no cursor.
NO_CURSOR = 2**63 - 1


def _statements(db: Store, rid: int) -> list[Statement]:
    oldest = OLDEST_WAITING.format(queue=db.dialect.hinted("message_logs", "ix_logs_due"))
    return [
        (COUNTS, (rid,)),
        (oldest, (rid,)),
        (NEWEST, (rid, "success")),
        (NEWEST, (rid, "failed")),
        (NEWEST, (rid, "dead")),
    ]


def _summary(route: dict[str, Any], answers: list[list[dict[str, Any]]]) -> dict[str, Any]:
    counted, oldest, success, failed, dead = answers
    counts = dict.fromkeys(STATUSES, 0)
    for row in counted:
        if row["status"] in counts:
            counts[row["status"]] = row["n"]
    errors = [rows[0] for rows in (failed, dead) if rows]
    last_error = max(errors, key=lambda row: (row["updated_at"], row["id"]), default=None)
    return {
        "id": route["id"],
        "source_platform": route["source_platform"],
        "source_channel": route["source_channel"],
        "target_platform": route["target_platform"],
        "target_channel": route["target_channel"],
        "enabled": bool(route["enabled"]),
        "counts": counts,
        "oldest_waiting_at": ms_to_iso(oldest[0]["created_at"]) if oldest else None,
        "last_success_at": ms_to_iso(success[0]["updated_at"]) if success else None,
        "last_error": last_error["error_message"] if last_error else None,
        "last_error_at": ms_to_iso(last_error["updated_at"]) if last_error else None,
    }


async def _summaries(db: Store, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    per_route = len(_statements(db, 0))
    statements = [s for route in found for s in _statements(db, route["id"])]
    # One snapshot: every route's counts and outcomes agree with each other.
    answers = await db.read_many(statements) if statements else []
    return [
        _summary(route, answers[i * per_route:(i + 1) * per_route])
        for i, route in enumerate(found)
    ]


async def routes(db: Store) -> list[dict[str, Any]]:
    """Every route, oldest first, with its counts by status and latest outcomes."""
    found = await db.execute_read(f"SELECT {ROUTE_COLUMNS} FROM forward_routes ORDER BY id")
    return await _summaries(db, found)


async def route(db: Store, route_id: int) -> dict[str, Any] | None:
    """One route's summary, as routes() gives it; None when there is no such route."""
    found = await db.execute_read(
        f"SELECT {ROUTE_COLUMNS} FROM forward_routes WHERE id = ?", (route_id,)
    )
    return (await _summaries(db, found))[0] if found else None


async def deliveries(
    db: Store, route_id: int, limit: int = 50, before_id: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """A route's deliveries newest first (by id), and the cursor of the next page."""
    rows = await db.execute_read(
        PAGE, (route_id, NO_CURSOR if before_id is None else before_id, limit + 1)
    )
    more = len(rows) > limit
    rows = rows[:limit]
    for row in rows:
        row["created_at"] = ms_to_iso(row["created_at"])
        row["updated_at"] = ms_to_iso(row["updated_at"])
    return rows, (rows[-1]["id"] if more and rows else None)
