"""Timestamps: integer epoch milliseconds in, ISO 8601 UTC out."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from storage.timeutil import ms_to_iso, to_ms


def reference(ms: int) -> str:
    text = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def test_ms_to_iso_matches_datetime_formatting() -> None:
    rng = random.Random(11)
    values = [0, 1, 999, 1000, 1_762_084_800_000, -1, -1001]
    values += [rng.randrange(-10**12, 4 * 10**12) for _ in range(5000)]
    for ms in values:
        assert ms_to_iso(ms) == reference(ms), ms


def test_ms_to_iso_keeps_none() -> None:
    assert ms_to_iso(None) is None


def test_round_trip_through_aware_and_naive_datetimes() -> None:
    ms = 1_762_084_800_123
    aware = datetime(2025, 11, 2, 12, 0, 0, 123000, tzinfo=UTC)
    assert to_ms(aware) == ms
    assert to_ms(aware.replace(tzinfo=None)) == ms
    assert ms_to_iso(ms) == "2025-11-02T12:00:00.123Z"
