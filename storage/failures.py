"""Failed deliveries grouped by error message: how many, when last, which targets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .interfaces import Dialect, Store
from .message_logs import LogFilter
from .timeutil import ms_to_iso

# "dead" (a delivery given up on) does not exist yet; naming it costs one more probe of
# ix_logs_status (status, created_at) and keeps the view right once it does.
FAILURE_STATUSES = ("failed", "dead")
MAX_TARGETS = 20

Order = Literal["count", "last_seen"]


@dataclass(slots=True)
class _Group:
    error_message: str | None
    count: int = 0
    last_ms: int = 0
    targets: list[tuple[int, str, str]] = field(default_factory=list)


def _statuses(filt: LogFilter) -> tuple[str, ...]:
    if filt.status is None:
        return FAILURE_STATUSES
    return (filt.status,) if filt.status in FAILURE_STATUSES else ()


def _query(
    dialect: Dialect, filt: LogFilter, statuses: tuple[str, ...]
) -> tuple[str, list[Any]]:
    clauses, params = replace(filt, status=None).where(dialect)
    marks = ", ".join("?" * len(statuses))
    # The status IN (...) and created_at range come first so the status index bounds the
    # scan to failures in the window; one pass groups by message and target together.
    where = " AND ".join([f"m.status IN ({marks})", *clauses])
    sql = (
        "SELECT m.error_message, m.target_platform, m.target_channel, count(*) AS n, "
        f"max(m.created_at) AS last FROM message_logs AS m WHERE {where} "
        "GROUP BY m.error_message, m.target_platform, m.target_channel"
    )
    return sql, [*statuses, *params]


async def groups(
    db: Store, filt: LogFilter, order: Order = "count", limit: int = 50
) -> dict[str, Any]:
    """The top `limit` error messages among failed rows matching `filt` (with its window)."""
    statuses = _statuses(filt)
    if not statuses or (
        filt.since_ms is not None and filt.until_ms is not None and filt.since_ms >= filt.until_ms
    ):
        return {"statuses": list(statuses), "total": 0, "groups": []}
    sql, params = _query(db.dialect, filt, statuses)
    rows = await db.execute_read(sql, params)
    by_error: dict[str | None, _Group] = {}
    total = 0
    for row in rows:
        error, platform, channel, n, last = row.values()
        group = by_error.get(error)
        if group is None:
            group = by_error[error] = _Group(error)
        group.count += n
        group.last_ms = max(group.last_ms, last)
        group.targets.append((n, platform, channel))
        total += n
    if order == "count":
        key: Callable[[_Group], tuple[int, int]] = lambda g: (g.count, g.last_ms)  # noqa: E731
    else:
        key = lambda g: (g.last_ms, g.count)  # noqa: E731
    chosen = sorted(by_error.values(), key=key, reverse=True)[:limit]
    return {
        "statuses": list(statuses),
        "total": total,
        "groups": [_shape(g) for g in chosen],
    }


def _shape(group: _Group) -> dict[str, Any]:
    group.targets.sort(key=lambda t: (-t[0], t[1], t[2]))
    return {
        "error_message": group.error_message,
        "count": group.count,
        "last_seen": ms_to_iso(group.last_ms),
        "target_count": len(group.targets),
        "targets": [
            {"platform": platform, "channel": channel, "count": n}
            for n, platform, channel in group.targets[:MAX_TARGETS]
        ],
    }
