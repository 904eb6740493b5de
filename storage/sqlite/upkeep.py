"""SQLite upkeep on the writer connection: zeroed deletes, WAL truncation, freed pages."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

# Pages per PRAGMA incremental_vacuum call (4 MB at the default page size).
VACUUM_STEP_PAGES = 1024
AUTO_VACUUM_INCREMENTAL = 2


def scrubbed(sql: str, params: Sequence[Any] | dict[str, Any]) -> Any:
    """`sql` in its own transaction with secure_delete on: (lastrowid, rowcount, rows).

    secure_delete makes SQLite overwrite freed cells and pages with zeros, so a replaced
    secret (or a legacy unsealed one) does not linger in the file's free space.
    """

    def run(conn: sqlite3.Connection) -> tuple[int | None, int, list[tuple[Any, ...]]]:
        previous = int(conn.execute("PRAGMA secure_delete").fetchone()[0])
        conn.execute("PRAGMA secure_delete = 1")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cur = conn.execute(sql, params)
                rows = cur.fetchall()
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return cur.lastrowid, cur.rowcount, rows
        finally:
            conn.execute(f"PRAGMA secure_delete = {previous}")

    return run


def truncate_wal(conn: sqlite3.Connection) -> tuple[bool, int]:
    """Copy the WAL back and cut it (old frames may hold replaced pages); free pages left."""
    busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
    return not busy, freelist(conn)


def freelist(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA freelist_count").fetchone()[0])


def vacuum_step(conn: sqlite3.Connection) -> int:
    """Free up to VACUUM_STEP_PAGES pages; how many free pages are left."""
    if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == AUTO_VACUUM_INCREMENTAL:
        # The pragma frees one page per step: fetch every row so it runs to the end.
        conn.execute(f"PRAGMA incremental_vacuum({VACUUM_STEP_PAGES})").fetchall()
    # Without INCREMENTAL (a file migrated from the older runtime) nothing is freed here;
    # SQLite reuses the free pages for new rows instead.
    return freelist(conn)


def snapshot(
    statements: Sequence[tuple[str, Sequence[Any] | dict[str, Any]]],
) -> Any:
    """Every statement in one read transaction, so the answers agree with each other."""

    def run(conn: sqlite3.Connection) -> list[list[dict[str, Any]]]:
        conn.execute("BEGIN")
        try:
            out = []
            for sql, params in statements:
                cur = conn.execute(sql, params)
                names = [d[0] for d in cur.description or ()]
                out.append([dict(zip(names, row, strict=True)) for row in cur.fetchall()])
            return out
        finally:
            conn.execute("COMMIT")

    return run
