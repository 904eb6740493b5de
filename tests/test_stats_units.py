"""Unit tests for the subtle parts of statistics: histogram buckets and percentiles."""

from __future__ import annotations

import random

import pytest

from storage import AsyncDatabase, layout, log_stats

pytestmark = pytest.mark.engines("sqlite", "postgres")


async def buckets_of(db: AsyncDatabase, values: list[int]) -> list[int]:
    """Each value's bucket floor as the engine's SQL computes it (its rollup triggers do)."""
    rows = ", ".join(["(CAST(? AS bigint))"] * len(values))
    rounded = layout.LATENCY_ROUNDED.format(l="v")
    found = await db.execute_read(
        f"WITH t(v) AS (VALUES {rows}) SELECT v, {rounded} AS floor FROM t", values
    )
    by_value = {int(r["v"]): int(r["floor"]) for r in found}
    return [by_value[value] for value in values]


async def test_latency_bucket_is_a_floor_within_ten_percent(db: AsyncDatabase) -> None:
    rng = random.Random(3)
    values = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 59_999, 599_999, 600_000, 10**8]
    values += [rng.randrange(0, 1_000_000) for _ in range(500)]
    for value, floor in zip(values, await buckets_of(db, values), strict=True):
        assert floor <= value
        if value < 10:
            assert floor == value
        elif value < 600_000:
            assert floor >= value / 1.1, (value, floor)
        assert floor == max(b for b in layout.LATENCY_BOUNDS if b <= value)


def test_percentile_uses_nearest_rank() -> None:
    histogram = [(10, 1), (20, 1), (30, 1), (40, 1)]
    assert log_stats.percentile(histogram, 0.5) == 20
    assert log_stats.percentile(histogram, 0.95) == 40
    assert log_stats.percentile([(7, 100)], 0.95) == 7
    assert log_stats.percentile([], 0.5) is None


def test_percentile_of_a_weighted_histogram() -> None:
    histogram = [(100, 90), (5000, 10)]
    assert log_stats.percentile(histogram, 0.5) == 100
    assert log_stats.percentile(histogram, 0.9) == 100
    assert log_stats.percentile(histogram, 0.95) == 5000
