"""Dashboard statistics: from the rollups and their tail, or counted from the rows."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .interfaces import Dialect, Statement, Store
from .layout import COUNT_BUCKET_MS, FOLDED_TO, LATENCY_ROUNDED, LATENCY_TABLES
from .message_logs import LogFilter
from .timeutil import ms_to_iso


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


ROLLUP_MIN_SPAN_MS = 3_600_000
HOURLY_LATENCY_MAX_SPAN_MS = 7 * 86_400_000


async def summary(
    db: Store,
    filt: LogFilter,
    since_ms: int,
    until_ms: int,
    bucket_ms: int,
    exact: bool = False,
) -> dict[str, Any]:
    """Totals by status and platform, success rate, latency p50/p95, a time series.

    Ranges over an hour filtered at most by status and platform read the rollup tables
    (work proportional to buckets, not rows): counts from whole hours, latency
    percentiles to within 10 % from whole hours (up to a week) or whole days. The rest
    count the rows themselves, as does an `exact` window (one a caller chose, not a range
    ending now: whole hours would count rows outside it).
    """
    rollup = (
        not exact
        and until_ms - since_ms > ROLLUP_MIN_SPAN_MS
        and bucket_ms % COUNT_BUCKET_MS == 0
        and not (filt.channel or filt.sender or filt.q)
    )
    if rollup:
        since_ms -= since_ms % COUNT_BUCKET_MS
        queries = _from_rollups(db.dialect, filt, since_ms, until_ms, bucket_ms)
    else:
        queries = _from_rows(db.dialect, filt, since_ms, until_ms, bucket_ms)
    # One snapshot: the counts and the latencies agree with each other.
    rows, latencies = await db.read_many(queries)
    raw = {"rows": [tuple(r.values()) for r in rows],
           "latencies": [tuple(r.values()) for r in latencies]}
    return _shape(raw, since_ms, until_ms, bucket_ms)


Raw = dict[str, list[Any]]


def _from_rollups(
    dialect: Dialect, filt: LogFilter, since_ms: int, until_ms: int, bucket_ms: int
) -> list[Statement]:
    # The same filters on the rollups and on the tail not folded into them yet.
    extra = tail_extra = ""
    params: list[Any] = []
    if filt.status is not None:
        extra += " AND status = ?"
        tail_extra += " AND status = ?"
        params.append(filt.status)
    if filt.platform is not None:
        extra += f" AND {dialect.equals_caseless('platform')}"
        tail_extra += f" AND {dialect.equals_caseless('target_platform')}"
        params.append(filt.platform)
    table, span = list(LATENCY_TABLES.items())[
        0 if until_ms - since_ms <= HOURLY_LATENCY_MAX_SPAN_MS else 1
    ]
    latency_since = since_ms - since_ms % span
    tail = f"FROM message_logs WHERE id > {FOLDED_TO} AND created_at >= ?"
    counts = (
        f"SELECT bucket - bucket % {int(bucket_ms)} AS t, status, platform, "
        "CAST(sum(n) AS BIGINT) AS total FROM ("
        f"SELECT bucket, status, platform, n FROM stats_counts "
        f"WHERE bucket >= ? AND bucket < ?{extra} UNION ALL "
        f"SELECT created_at - created_at % {COUNT_BUCKET_MS}, status, target_platform, 1 "
        f"{tail} AND created_at - created_at % {COUNT_BUCKET_MS} < ?{tail_extra}"
        ") AS u GROUP BY t, status, platform HAVING sum(n) != 0"
    )
    rounded = LATENCY_ROUNDED.format(l="latency_ms")
    latencies = (
        f"SELECT latency, CAST(sum(n) AS BIGINT) AS total FROM (SELECT latency, n FROM {table} "
        f"WHERE bucket >= ? AND bucket < ?{extra} UNION ALL SELECT {rounded}, 1 {tail} "
        f"AND created_at - created_at % {span} < ? AND latency_ms IS NOT NULL{tail_extra}) "
        "AS u GROUP BY latency HAVING sum(n) > 0 ORDER BY latency"
    )

    return [
        (counts, [since_ms, until_ms, *params, since_ms, until_ms, *params]),
        (latencies, [latency_since, until_ms, *params, latency_since, until_ms, *params]),
    ]


def _from_rows(
    dialect: Dialect, filt: LogFilter, since_ms: int, until_ms: int, bucket_ms: int
) -> list[Statement]:
    ranged = replace(filt, since_ms=since_ms, until_ms=until_ms)
    clauses, params = ranged.where(dialect)
    where = " AND ".join(clauses)
    bucket = dialect.time_bucket("m.created_at", bucket_ms)
    counts = (
        f"SELECT {bucket} AS t, m.status, m.target_platform, count(*) AS n "
        f"FROM message_logs AS m WHERE {where} GROUP BY t, m.status, m.target_platform"
    )
    latencies = (
        "SELECT m.latency_ms, count(*) AS n FROM message_logs AS m "
        f"WHERE {where} AND m.latency_ms IS NOT NULL GROUP BY m.latency_ms ORDER BY 1"
    )

    return [(counts, params), (latencies, params)]


def _shape(raw: Raw, since_ms: int, until_ms: int, bucket_ms: int) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    by_platform: dict[str, int] = {}
    first = since_ms - since_ms % bucket_ms
    points: dict[int, dict[str, Any]] = {
        t: {"t": ms_to_iso(t), "success": 0, "failed": 0, "pending": 0, "received": 0, "dead": 0}
        for t in range(first, until_ms, bucket_ms)
    }
    for t, status, platform, n in raw["rows"]:
        by_status[status] = by_status.get(status, 0) + n
        by_platform[platform] = by_platform.get(platform, 0) + n
        point = points.get(int(t))
        if point is not None:
            point[status] = point.get(status, 0) + n
    success = by_status.get("success", 0)
    failed = by_status.get("failed", 0)
    histogram = [(int(v), int(n)) for v, n in raw["latencies"]]
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
