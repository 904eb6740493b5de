"""The older runtime's rows in msglog's columns: one mapping, for migration and import alike.

Its tables lack columns that ours have (attempts, updated_at), allow NULL where ours do not
(targets: '' in ours), and keep times as text ('2025-11-11 12:00:00', UTC) except the
accounts' last_active, which is local wall-clock time (legacy_time converts it).
"""

from __future__ import annotations

from collections.abc import Callable

from . import zone as legacy_time

NOW_MS = "CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)"

# Our columns, in the order the expressions below produce them.
LOG_COLUMNS = (
    "kook_message_id", "target_platform", "target_channel", "kook_channel_id", "content",
    "message_type", "sender_name", "status", "error_message", "latency_ms", "attempts",
    "created_at", "updated_at",
)
ACCOUNT_COLUMNS = (
    "email", "password_encrypted", "cookie", "status", "last_active", "created_at",
)


def to_ms(column: str) -> str:
    """SQL turning a legacy text timestamp ('2025-11-11 12:00:00[.ffffff]') into epoch ms."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN typeof({column}) IN ('integer', 'real') THEN CAST({column} AS INTEGER) "
        f"ELSE CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER) END"
    )


def _picker(present: set[str]) -> Callable[[str], str]:
    return lambda name: name if name in present else "NULL"


def log_values(present: set[str]) -> str:
    """SELECT expressions over an older `message_logs` giving LOG_COLUMNS."""
    col = _picker(present)
    created = f"coalesce({to_ms(col('created_at'))}, {NOW_MS})"
    return ", ".join([
        "kook_message_id",
        f"lower(coalesce({col('target_platform')}, ''))",
        f"coalesce({col('target_channel')}, '')",
        f"coalesce({col('kook_channel_id')}, '')",
        col("content"),
        col("message_type"),
        col("sender_name"),
        f"coalesce({col('status')}, 'pending')",
        col("error_message"),
        col("latency_ms"),
        f"coalesce({col('attempts')}, 1)",
        created,
        f"coalesce({to_ms(col('updated_at'))}, {created})",
    ])


def account_values(present: set[str]) -> str:
    """SELECT expressions over an older `accounts` giving ACCOUNT_COLUMNS.

    The connection needs legacy_time.register() for last_active.
    """
    col = _picker(present)
    return ", ".join([
        "email",
        col("password_encrypted"),
        col("cookie"),
        f"coalesce({col('status')}, 'offline')",
        f"{legacy_time.SQL_FUNCTION}({col('last_active')})",
        f"coalesce({to_ms(col('created_at'))}, {NOW_MS})",
    ])
