"""Retention: delete old logs in small writer batches, then hand freed pages back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from .interfaces import Store
from .timeutil import now_ms

DAY_MS = 86_400_000
# Rows per DELETE: each is one short transaction, so other writes interleave with a purge.
DELETE_BATCH = 500

_OLD_LOG_IDS = (
    "SELECT id FROM message_logs WHERE created_at < ? ORDER BY created_at LIMIT ?"
)
# Tables whose foreign keys point at message_logs (the older runtime's failed_messages):
# their rows of a deleted log go first, or the foreign key would refuse the delete.
# Webhook de-duplication keys older than the logs they guarded are of no more use.
_DELETE_EVENTS = (
    "DELETE FROM webhook_events WHERE (source, event_id) IN "
    "(SELECT source, event_id FROM webhook_events WHERE created_at < ? LIMIT ?)"
)

# The statistics rollups (kept by triggers on message_logs) count deleted logs down to 0
# but keep their rows: the dialect finds those tables and their keys.


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one retention pass did."""

    cutoff_ms: int
    logs_deleted: int
    events_deleted: int
    rollup_rows_deleted: int
    pages_freed: int


def cutoff_for(days: int, now: int | None = None) -> int:
    """Epoch ms before which rows are older than `days` days."""
    return (now_ms() if now is None else now) - days * DAY_MS


async def delete_batches(
    db: Store, sql: str, cutoff_ms: int, batch: int = DELETE_BATCH
) -> AsyncIterator[int]:
    """Run `sql` (cutoff, batch) until a batch deletes fewer rows; yield each batch's count."""
    while True:
        result = await db.execute_write(sql, (cutoff_ms, batch))
        yield result.rowcount
        if result.rowcount < batch:
            return
        await asyncio.sleep(0)  # let queued writes and readers in between batches


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def purge_logs_batches(
    db: Store, cutoff_ms: int, batch: int = DELETE_BATCH
) -> AsyncIterator[int]:
    """Delete message logs created before `cutoff_ms`, one short batch per step."""
    refs = [(r["tbl"], r["col"])
            for r in await db.execute_read(db.dialect.referencing_sql, ("message_logs",))]
    while True:
        rows = await db.execute_read(_OLD_LOG_IDS, (cutoff_ms, batch))
        ids = [r["id"] for r in rows]
        if not ids:
            return
        marks = ",".join("?" * len(ids))
        for table, column in refs:
            await db.execute_write(
                f"DELETE FROM {_quoted(table)} WHERE {_quoted(column)} IN ({marks})", ids
            )
        # The delete trigger on message_logs keeps the full-text index in step.
        result = await db.execute_write(f"DELETE FROM message_logs WHERE id IN ({marks})", ids)
        yield result.rowcount
        if len(ids) < batch:
            return
        await asyncio.sleep(0)  # let queued writes and readers in between batches


async def purge_logs(db: Store, cutoff_ms: int, batch: int = DELETE_BATCH) -> int:
    """Delete message logs created before `cutoff_ms`; how many went."""
    return sum([n async for n in purge_logs_batches(db, cutoff_ms, batch)])


async def purge_events(db: Store, cutoff_ms: int, batch: int = DELETE_BATCH) -> int:
    """Delete webhook de-duplication keys recorded before `cutoff_ms`."""
    return sum([n async for n in delete_batches(db, _DELETE_EVENTS, cutoff_ms, batch)])


async def purge_empty_rollups(
    db: Store, cutoff_ms: int, batch: int = DELETE_BATCH
) -> int:
    """Drop statistics buckets before `cutoff_ms` that deleting their logs brought to 0."""
    deleted = 0
    for row in await db.execute_read(db.dialect.rollup_tables_sql):
        table = row["name"]
        keys = [r["name"] for r in await db.execute_read(db.dialect.primary_key_sql, (table,))]
        names = {r["name"] for r in await db.execute_read(db.dialect.columns_sql, (table,))}
        if not keys or not {"bucket", "n"} <= names:
            continue
        key = ", ".join(_quoted(k) for k in keys)
        sql = (
            f"DELETE FROM {_quoted(table)} WHERE ({key}) IN (SELECT {key} FROM "
            f"{_quoted(table)} WHERE bucket < ? AND n = 0 LIMIT ?)"
        )
        deleted += sum([n async for n in delete_batches(db, sql, cutoff_ms, batch)])
    return deleted


async def apply(db: Store, days: int, now: int | None = None) -> RetentionReport:
    """One retention pass: rows older than `days` days go, their space is reclaimed."""
    cutoff = cutoff_for(days, now)
    logs = await purge_logs(db, cutoff)
    events = await purge_events(db, cutoff)
    rollups = await purge_empty_rollups(db, cutoff)
    freed = await db.reclaim_space()
    return RetentionReport(cutoff, logs, events, rollups, freed)
