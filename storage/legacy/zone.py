"""The older runtime's wall-clock times (accounts.last_active) as UTC instants."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, tzinfo

# The SQL name of wall_clock_ms on connections that read the older runtime's rows.
SQL_FUNCTION = "msglog_wall_clock_ms"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def wall_clock_ms(value: object, zone: tzinfo | None) -> int | None:
    """Epoch ms of `value`, local time in `zone` (None: this process's zone) unless it
    names its own offset; numbers are instants already, unreadable text gives None."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(value)
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return None  # julianday() cannot read it either: the old migration kept NULL
    if parsed.tzinfo is None:
        # A time repeated when clocks go back is taken as its first occurrence (fold=0).
        parsed = parsed.replace(tzinfo=zone) if zone is not None else parsed.astimezone()
    return round((parsed - _EPOCH) / _MS)


def register(conn: sqlite3.Connection, zone: tzinfo | None) -> None:
    """Make `msglog_wall_clock_ms(value)` callable in SQL on `conn`."""
    conn.create_function(
        SQL_FUNCTION, 1, lambda value: wall_clock_ms(value, zone), deterministic=True
    )


def describe(zone: tzinfo | None) -> str:
    """'Asia/Shanghai (UTC+08:00 now)'; the local zone by its abbreviation."""
    now = datetime.now(zone) if zone is not None else datetime.now().astimezone()
    offset = now.strftime("%z")
    name = str(zone) if zone is not None else f"this machine's zone, {now.tzname()}"
    return f"{name} (UTC{offset[:3]}:{offset[3:]} now)"
