"""Forward routes: one source channel to one target; the target URL is sealed at rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import IntegrityViolation, StorageError
from .interfaces import Store
from .secretbox import SecretBox, from_rest, to_rest
from .timeutil import ms_to_iso, now_ms

# What a listing shows: never the URL itself (callers redact `target_url` further).
COLUMNS = (
    "id, source_platform, source_channel, target_platform, target_channel, enabled, "
    "created_at, updated_at"
)
INSERT = (
    "INSERT INTO forward_routes (source_platform, source_channel, target_platform, "
    "target_channel, target_url, enabled, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
)


class DuplicateRoute(IntegrityViolation):
    """A route from this source channel to this target already exists."""


class RouteNotFound(StorageError):
    """No route has this id."""


@dataclass(frozen=True, slots=True)
class NewRoute:
    source_platform: str
    source_channel: str
    target_platform: str
    target_channel: str
    target_url: str | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Target:
    """What the delivery worker needs to send along a route (the URL opened)."""

    route_id: int
    platform: str
    channel: str
    url: str | None
    enabled: bool


def present(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["enabled"] = bool(out["enabled"])
    out["created_at"] = ms_to_iso(row["created_at"])
    out["updated_at"] = ms_to_iso(row["updated_at"])
    return out


async def add(db: Store, route: NewRoute) -> int:
    """Store a route (its URL sealed with the database's key); its new id."""
    now = now_ms()
    params = (
        route.source_platform.lower(),
        route.source_channel,
        route.target_platform.lower(),
        route.target_channel,
        to_rest(db.secret_box, route.target_url),
        int(route.enabled),
        now,
        now,
    )
    try:
        result = await db.execute_write(INSERT, params)
    except IntegrityViolation as exc:
        if exc.kind != "unique":
            raise
        raise DuplicateRoute("a route from this source channel to this target exists") from None
    assert result.lastrowid is not None
    return result.lastrowid


async def list_all(db: Store) -> list[dict[str, Any]]:
    rows = await db.execute_read(
        f"SELECT {COLUMNS}, target_url FROM forward_routes ORDER BY id"
    )
    return [present(r) for r in rows]


async def get(db: Store, route_id: int) -> dict[str, Any] | None:
    row = await db.execute_one(
        f"SELECT {COLUMNS}, target_url FROM forward_routes WHERE id = ?", (route_id,)
    )
    return None if row is None else present(row)


def open_url(db: Store, row: dict[str, Any]) -> str | None:
    """A listed route's URL in the clear (for redaction by the caller, or for sending)."""
    return from_rest(db.secret_box, row.get("target_url"))


async def targets(db: Store, route_ids: list[int]) -> dict[int, Target]:
    """The routes' targets, URLs opened: what the worker sends along."""
    if not route_ids:
        return {}
    marks = ",".join("?" * len(route_ids))
    rows = await db.execute_read(
        "SELECT id, target_platform, target_channel, target_url, enabled "
        f"FROM forward_routes WHERE id IN ({marks})",
        route_ids,
    )
    return {
        int(r["id"]): Target(
            route_id=int(r["id"]),
            platform=str(r["target_platform"]),
            channel=str(r["target_channel"]),
            url=from_rest(db.secret_box, r["target_url"]),
            enabled=bool(r["enabled"]),
        )
        for r in rows
    }


async def enabled_ids(db: Store) -> list[int]:
    rows = await db.execute_read("SELECT id FROM forward_routes WHERE enabled = 1 ORDER BY id")
    return [int(r["id"]) for r in rows]


async def set_enabled(db: Store, route_id: int, enabled: bool) -> bool:
    result = await db.execute_write(
        "UPDATE forward_routes SET enabled = ?, updated_at = ? WHERE id = ?",
        (int(enabled), now_ms(), route_id),
    )
    return result.rowcount > 0


async def remove(db: Store, route_id: int) -> bool:
    """Delete a route; its queued deliveries end as dead ('route removed')."""
    result = await db.execute_write("DELETE FROM forward_routes WHERE id = ?", (route_id,))
    return result.rowcount > 0


async def seal_unsealed(db: Store, box: SecretBox) -> int:
    """Seal URLs stored in the clear (a migrated older runtime's); how many."""
    rows = await db.execute_read(
        "SELECT id, target_url FROM forward_routes WHERE coalesce(target_url, '') != ''"
    )
    sealed = 0
    for row in rows:
        stored = row["target_url"]
        if box.is_current(stored):
            continue
        result = await db.execute_write(
            "UPDATE forward_routes SET target_url = ? WHERE id = ? AND target_url = ?",
            (box.reseal(stored), row["id"], stored),
        )
        sealed += result.rowcount
    return sealed
