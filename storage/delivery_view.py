"""The deliveries view: each forward route with its outcomes, and its latest deliveries.

Every read goes through the per-route partial indexes (schema v9's ix_logs_route_status
and ix_logs_route, v7's ix_logs_due), one route at a time, so the cost follows what a
route holds, never the size of message_logs. No target URL is ever selected.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .interfaces import Store
from .timeutil import ms_to_iso

STATUSES = ("pending", "failed", "success", "dead")
ROUTE_COLUMNS = (
    "id, source_platform, source_channel, target_platform, target_channel, enabled"
)
COUNTS = "SELECT status, count(*) FROM message_logs WHERE route_id = ? GROUP BY status"
# Deliveries are queued by trigger at the time they are stored, so ids follow created_at
# within a route: the queue's first row by id is its oldest, found in one index step
# (min(created_at) would read the whole queue of a target that has been down for days).
# Named: without statistics SQLite prefers ix_logs_route here and walks every row the
# route ever delivered to reach its queue.
OLDEST_WAITING = (
    "SELECT created_at FROM message_logs INDEXED BY ix_logs_due "
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


def _summary(conn: sqlite3.Connection, route: tuple[Any, ...]) -> dict[str, Any]:
    rid, source_platform, source_channel, target_platform, target_channel, enabled = route
    counts = dict.fromkeys(STATUSES, 0)
    for status, n in conn.execute(COUNTS, (rid,)).fetchall():
        if status in counts:
            counts[status] = n
    oldest = conn.execute(OLDEST_WAITING, (rid,)).fetchone()
    success = conn.execute(NEWEST, (rid, "success")).fetchone()
    errors = [row for status in ("failed", "dead")
              if (row := conn.execute(NEWEST, (rid, status)).fetchone()) is not None]
    last_error = max(errors, key=lambda row: (row[2], row[0]), default=None)
    return {
        "id": rid,
        "source_platform": source_platform,
        "source_channel": source_channel,
        "target_platform": target_platform,
        "target_channel": target_channel,
        "enabled": bool(enabled),
        "counts": counts,
        "oldest_waiting_at": ms_to_iso(oldest[0]) if oldest else None,
        "last_success_at": ms_to_iso(success[2]) if success else None,
        "last_error": last_error[1] if last_error else None,
        "last_error_at": ms_to_iso(last_error[2]) if last_error else None,
    }


async def routes(db: Store) -> list[dict[str, Any]]:
    """Every route, oldest first, with its counts by status and latest outcomes."""

    def read(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        found = conn.execute(f"SELECT {ROUTE_COLUMNS} FROM forward_routes ORDER BY id")
        return [_summary(conn, route) for route in found.fetchall()]

    return await db.run_read(read)


async def route(db: Store, route_id: int) -> dict[str, Any] | None:
    """One route's summary, as routes() gives it; None when there is no such route."""

    def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
        found = conn.execute(
            f"SELECT {ROUTE_COLUMNS} FROM forward_routes WHERE id = ?", (route_id,)
        ).fetchone()
        return None if found is None else _summary(conn, found)

    return await db.run_read(read)


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
