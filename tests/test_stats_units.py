"""Unit tests for the subtle parts of statistics: histogram buckets and percentiles."""

from __future__ import annotations

import random
import sqlite3

from storage import layout, log_stats


def bucket_of(conn: sqlite3.Connection, value: int) -> int:
    sql = "SELECT " + layout.LATENCY_ROUNDED.format(l="?")
    count = sql.count("?")
    return int(conn.execute(sql, [value] * count).fetchone()[0])


def test_latency_bucket_is_a_floor_within_ten_percent() -> None:
    conn = sqlite3.connect(":memory:")
    rng = random.Random(3)
    values = [0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 59_999, 599_999, 600_000, 10**8]
    values += [rng.randrange(0, 1_000_000) for _ in range(500)]
    for value in values:
        floor = bucket_of(conn, value)
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
