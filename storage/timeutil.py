"""Timestamps are stored as integer Unix milliseconds (UTC) and shown as ISO 8601."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now_ms() -> int:
    return time.time_ns() // 1_000_000


_SECONDS: dict[int, str] = {}


def ms_to_iso(ms: int | None) -> str | None:
    """'2026-11-23T07:16:35.038Z'. Every row shown goes through here: rows of one page
    share their seconds, so the date part is formatted once per second, not per row."""
    if ms is None:
        return None
    seconds, millis = divmod(ms, 1000)
    prefix = _SECONDS.get(seconds)
    if prefix is None:
        if len(_SECONDS) > 65536:
            _SECONDS.clear()
        prefix = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        _SECONDS[seconds] = prefix
    return f"{prefix}.{millis:03d}Z"


def to_ms(value: datetime) -> int:
    """Epoch milliseconds of an aware datetime (naive ones are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)
