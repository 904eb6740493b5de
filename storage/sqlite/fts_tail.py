"""The tail: rows written but not yet in the full-text index and the statistics rollups.

FTS5 pays per transaction (a new segment, merges of older ones), so indexing each
100-row batch as it commits cost more than the rows themselves. The writer indexes the
tail in one transaction of its own once it holds `chunk_rows` rows or its oldest row has
waited `max_lag` seconds, between batches, after their callers have been answered.
Searches and statistics read the tail directly, so nothing written is ever missing from
a result. The same transaction folds the tail into the rollups (storage/stats_rollup.py)
and trims the change log the live tail follows.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from . import schema, stats_rollup
from .batch import begin_immediate, rollback

# A catch-up is one transaction, and FTS5 merges segments inside it: with 1000 rows,
# repetitive text now and then made a 250 ms catch-up that grew the WAL past 64 MB
# before it could commit (tests/test_storage_reads.py); 250 rows peaked at 31-40 MB.
# Every write waits while a catch-up runs: at 250 rows the pauses (up to 42 ms under
# HTTP load) were the ingest p99 (67 ms); 100 rows measured 49 ms, at no cost in req/s.
CHUNK_ROWS = 100
MAX_LAG_S = 1.0


class FtsTail:
    def __init__(self, chunk_rows: int = CHUNK_ROWS, max_lag: float = MAX_LAG_S) -> None:
        self.chunk_rows = chunk_rows
        self.max_lag = max_lag
        # Rows possibly in the tail: every write counts, an update too (an upper bound).
        self.pending = 0
        self._oldest: float | None = None
        self.catch_ups = 0
        self.indexed_rows = 0
        # The writer takes no batch while it catches up: that pause is a write's latency.
        self.last_ms = 0.0
        self.max_ms = 0.0
        self.last_error: str | None = None

    def note_written(self, rows: int) -> None:
        if rows <= 0:
            return
        if self._oldest is None:
            self._oldest = time.monotonic()
        self.pending += rows

    def due(self, now: float) -> bool:
        if self._oldest is None:
            return False
        return self.pending >= self.chunk_rows or now - self._oldest >= self.max_lag

    def overdue(self, now: float) -> bool:
        """So far behind that it goes next even right after another pause."""
        if self._oldest is None:
            return False
        return self.pending >= 4 * self.chunk_rows or now - self._oldest >= 2 * self.max_lag

    def seconds_until_due(self, now: float) -> float | None:
        """How long an idle writer may sleep before the tail is due; None: nothing to do."""
        if self._oldest is None:
            return None
        return max(0.0, self._oldest + self.max_lag - now)

    def find(self, conn: sqlite3.Connection) -> None:
        """At start: a tail left by a crash (or a plain INSERT elsewhere) is due at once."""
        rows = max(
            int(conn.execute(schema.FTS_TAIL_ROWS).fetchone()[0]),
            int(conn.execute(stats_rollup.TAIL_ROWS).fetchone()[0]),
        )
        if rows:
            self.pending = rows
            self._oldest = time.monotonic() - self.max_lag

    def catch_up(self, conn: sqlite3.Connection) -> None:
        """Index and fold the whole tail in one transaction; a failure leaves it for the next
        try."""
        started = time.perf_counter()
        try:
            begin_immediate(conn)
            indexed = conn.execute(schema.FTS_CATCH_UP[0]).rowcount
            for sql in (*schema.FTS_CATCH_UP[1:], *stats_rollup.FOLD):
                conn.execute(sql)
            conn.commit()
        except sqlite3.Error as exc:
            rollback(conn)
            self.last_error = f"full-text catch-up failed: {exc}"
            # Searches stay right (they read the tail); try again after another lag.
            self._oldest = time.monotonic()
            return
        self.catch_ups += 1
        self.indexed_rows += max(0, indexed)
        self.last_ms = (time.perf_counter() - started) * 1000
        self.max_ms = max(self.max_ms, self.last_ms)
        self.pending = 0
        self._oldest = None
        self.last_error = None

    def stats(self) -> dict[str, Any]:
        return {
            "tail_rows_at_most": self.pending,
            "catch_ups": self.catch_ups,
            "indexed_rows": self.indexed_rows,
            "last_ms": round(self.last_ms, 2),
            "max_ms": round(self.max_ms, 2),
            "last_error": self.last_error,
        }
