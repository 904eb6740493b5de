"""Dashboard statistics, computed in SQL over the covering created_at index."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from . import dialect
from .message_logs import LogFilter
from .timeutil import ms_to_iso

if TYPE_CHECKING:
    from .database import AsyncDatabase


def percentile(histogram: list[tuple[int, int]], fraction: float) -> int | None:
    """Nearest-rank percentile of a sorted (value, count) histogram."""
    total = sum(n for _, n in histogram)
    if total == 0:
        return None
    rank = max(1, -(-int(fraction * total * 1000) // 1000))  # ceil without float drift
    seen = 0
    for value, n in histogram:
        seen += n
        if seen >= rank:
            return value
    return histogram[-1][0]


async def summary(
    db: AsyncDatabase, filt: LogFilter, since_ms: int, until_ms: int, bucket_ms: int
) -> dict[str, Any]:
    """Totals by status and platform, success rate, latency p50/p95, a time series."""
    ranged = LogFilter(
        status=filt.status,
        platform=filt.platform,
        channel=filt.channel,
        sender=filt.sender,
        q=filt.q,
        since_ms=since_ms,
        until_ms=until_ms,
    )
    clauses, params = ranged.where()
    where = " AND ".join(clauses)
    bucket = dialect.time_bucket("m.created_at", bucket_ms)

    def run(conn: sqlite3.Connection) -> dict[str, Any]:
        # One trip, one snapshot: the three answers agree with each other.
        conn.execute("BEGIN")
        try:
            counts = conn.execute(
                "SELECT m.status, m.target_platform, count(*) FROM message_logs AS m "
                f"WHERE {where} GROUP BY m.status, m.target_platform",
                params,
            ).fetchall()
            latencies = conn.execute(
                "SELECT m.latency_ms, count(*) FROM message_logs AS m "
                f"WHERE {where} AND m.latency_ms IS NOT NULL "
                "GROUP BY m.latency_ms ORDER BY m.latency_ms",
                params,
            ).fetchall()
            series = conn.execute(
                f"SELECT {bucket} AS t, m.status, count(*) FROM message_logs AS m "
                f"WHERE {where} GROUP BY t, m.status",
                params,
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        return {"counts": counts, "latencies": latencies, "series": series}

    raw = await db.run_read(run)
    by_status: dict[str, int] = {}
    by_platform: dict[str, int] = {}
    for status, platform, n in raw["counts"]:
        by_status[status] = by_status.get(status, 0) + n
        by_platform[platform] = by_platform.get(platform, 0) + n
    success = by_status.get("success", 0)
    failed = by_status.get("failed", 0)
    histogram = [(int(v), int(n)) for v, n in raw["latencies"]]
    first = (since_ms // bucket_ms) * bucket_ms
    points: dict[int, dict[str, Any]] = {
        t: {"t": ms_to_iso(t), "success": 0, "failed": 0, "pending": 0, "received": 0}
        for t in range(first, until_ms, bucket_ms)
    }
    for t, status, n in raw["series"]:
        point = points.get(int(t))
        if point is not None:
            point[status] = point.get(status, 0) + n
    return {
        "since": ms_to_iso(since_ms),
        "until": ms_to_iso(until_ms),
        "bucket_seconds": bucket_ms // 1000,
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_platform": by_platform,
        "success_rate": round(success / (success + failed), 4) if success + failed else None,
        "failures": failed,
        "latency_ms": {"p50": percentile(histogram, 0.5), "p95": percentile(histogram, 0.95)},
        "series": list(points.values()),
    }
