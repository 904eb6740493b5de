"""Statistics rollups: counts and latency histograms per hour and per day, kept exact.

Counts per hour, latency histograms per hour (ranges up to a week) and per day (longer
ranges). Rows up to `folded_to` are in the rollups and triggers keep them exact through
every update and delete (retention included); newer rows, the tail, are folded in by the
writer in one grouped statement per table, with the full-text tail (version 8). Per-row
trigger upserts into three tables were a third of a row's write cost (21 of 73 us, 16-row
batches); a fold of 100 rows costs a few of those. Readers add the tail themselves, in
the same snapshot, so no row is missing from a statistic.
"""

from __future__ import annotations

import sqlite3

from ..layout import COUNT_BUCKET_MS, FOLDED_TO, LATENCY_ROUNDED, LATENCY_TABLES


def _count_delta(row: str, delta: int) -> str:
    return (
        "INSERT INTO stats_counts (bucket, status, platform, n) VALUES ("
        f"{row}.created_at - {row}.created_at % {COUNT_BUCKET_MS}, {row}.status, "
        f"{row}.target_platform, {delta}) "
        f"ON CONFLICT (bucket, status, platform) DO UPDATE SET n = n + {delta};"
    )


def _latency_delta(row: str, delta: int) -> str:
    rounded = LATENCY_ROUNDED.format(l=f"{row}.latency_ms")
    return " ".join(
        f"INSERT INTO {table} (bucket, status, platform, latency, n) SELECT "
        f"{row}.created_at - {row}.created_at % {span}, {row}.status, "
        f"{row}.target_platform, {rounded}, {delta} WHERE {row}.latency_ms IS NOT NULL "
        f"ON CONFLICT (bucket, status, platform, latency) DO UPDATE SET n = n + {delta};"
        for table, span in LATENCY_TABLES.items()
    )


def _triggers(only_folded: bool) -> list[str]:
    new_in = f" WHEN new.id <= {FOLDED_TO}" if only_folded else ""
    old_in = f" WHEN old.id <= {FOLDED_TO}" if only_folded else ""
    changed = (
        "(old.status IS NOT new.status OR old.target_platform IS NOT new.target_platform "
        "OR old.latency_ms IS NOT new.latency_ms OR old.created_at IS NOT new.created_at)"
    )
    changed_in = f"{changed} AND old.id <= {FOLDED_TO}" if only_folded else changed
    return [
        f"CREATE TRIGGER stats_ai AFTER INSERT ON message_logs{new_in} BEGIN "
        f"{_count_delta('new', 1)} {_latency_delta('new', 1)} END",
        f"CREATE TRIGGER stats_ad AFTER DELETE ON message_logs{old_in} BEGIN "
        f"{_count_delta('old', -1)} {_latency_delta('old', -1)} END",
        "CREATE TRIGGER stats_au AFTER UPDATE OF status, target_platform, latency_ms, "
        f"created_at ON message_logs WHEN {changed_in} BEGIN "
        f"{_count_delta('old', -1)} {_latency_delta('old', -1)} "
        f"{_count_delta('new', 1)} {_latency_delta('new', 1)} END",
    ]


# Version 3's tables, with its per-row triggers (version 8 replaces them).
STATS = [
    "CREATE TABLE stats_counts (bucket INTEGER NOT NULL, status TEXT NOT NULL, "
    "platform TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (bucket, status, platform)) "
    "WITHOUT ROWID",
    *(
        f"CREATE TABLE {table} (bucket INTEGER NOT NULL, status TEXT NOT NULL, "
        "platform TEXT NOT NULL, latency INTEGER NOT NULL, n INTEGER NOT NULL, "
        "PRIMARY KEY (bucket, status, platform, latency)) WITHOUT ROWID"
        for table in LATENCY_TABLES
    ),
    *_triggers(only_folded=False),
]


def _fold_latency(table: str, span: int) -> str:
    rounded = LATENCY_ROUNDED.format(l="latency_ms")
    return (
        f"INSERT INTO {table} (bucket, status, platform, latency, n) "
        f"SELECT created_at - created_at % {span}, status, target_platform, {rounded}, "
        f"count(*) FROM message_logs WHERE id > {FOLDED_TO} AND latency_ms IS NOT NULL "
        "GROUP BY 1, 2, 3, 4 "
        "ON CONFLICT (bucket, status, platform, latency) DO UPDATE SET n = n + excluded.n"
    )


# Run by the writer inside its own transaction: the tail into the rollups, then the mark.
FOLD = (
    "INSERT INTO stats_counts (bucket, status, platform, n) "
    f"SELECT created_at - created_at % {COUNT_BUCKET_MS}, status, target_platform, "
    f"count(*) FROM message_logs WHERE id > {FOLDED_TO} GROUP BY 1, 2, 3 "
    "ON CONFLICT (bucket, status, platform) DO UPDATE SET n = n + excluded.n",
    *(_fold_latency(table, span) for table, span in LATENCY_TABLES.items()),
    "UPDATE stats_progress SET folded_to = "
    "max(folded_to, coalesce((SELECT max(id) FROM message_logs), 0)) WHERE id = 1",
)
TAIL_ROWS = f"SELECT count(*) FROM message_logs WHERE id > {FOLDED_TO}"


def migrate_v8(conn: sqlite3.Connection) -> None:
    """Version 8: rows above the mark are folded in by the writer, not one by one."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS stats_progress (id INTEGER PRIMARY KEY CHECK (id = 1), "
        "folded_to INTEGER NOT NULL)"
    )
    # Until now every row was counted as it came: all of them are folded already.
    conn.execute(
        "INSERT OR IGNORE INTO stats_progress (id, folded_to) "
        "SELECT 1, coalesce(max(id), 0) FROM message_logs"
    )
    for name in ("stats_ai", "stats_ad", "stats_au"):
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    for ddl in _triggers(only_folded=True):
        conn.execute(ddl)
