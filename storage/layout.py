"""The statistics rollup layout every engine keeps: hourly counts, latency histograms.

Rows up to `folded_to` are in the rollup tables; newer ones (the tail) are added by the
reader in the same snapshot. The SQL here is portable: each engine keeps the tables, the
domain (storage.log_stats) reads them.
"""

from __future__ import annotations

COUNT_BUCKET_MS = 3_600_000
LATENCY_TABLES = {"stats_latency_hourly": 3_600_000, "stats_latency_daily": 86_400_000}
FOLDED_TO = "(SELECT folded_to FROM stats_progress WHERE id = 1)"


def _latency_bounds() -> list[int]:
    """Histogram bucket floors: exact below 10 ms, then steps of 10 % up to 10 minutes."""
    bounds = list(range(10))
    value = 10.0
    while value < 600_000:
        if round(value) > bounds[-1]:
            bounds.append(round(value))
        value *= 1.1
    return bounds


def _bucket_floor(bounds: list[int], column: str) -> str:
    """A binary search written as nested CASE: ~7 comparisons per row, not ~120."""
    if len(bounds) == 1:
        return str(bounds[0])
    mid = len(bounds) // 2
    return (
        f"CASE WHEN {column} < {bounds[mid]} THEN {_bucket_floor(bounds[:mid], column)} "
        f"ELSE {_bucket_floor(bounds[mid:], column)} END"
    )


LATENCY_BOUNDS = _latency_bounds()
# A bucket's floor: a percentile read from the histogram is at most 10 % low.
LATENCY_ROUNDED = _bucket_floor(LATENCY_BOUNDS, "{l}")
