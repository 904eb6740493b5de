"""SQL that only SQLite speaks: search (FTS5 trigram), time buckets, rows as JSON."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from .schema import INDEXED_TO

# Trigram FTS needs three characters; shorter terms are matched with LIKE over at most
# this many of the newest rows, so a one-letter search can never scan a huge table.
SHORT_TERM_SCAN_ROWS = 50_000


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# The columns a search looks in (the full-text index holds the same ones).
SEARCHED = ("content", "sender_name", "error_message")


def _any_column_like(prefix: str) -> str:
    return " OR ".join(f"{prefix}{column} LIKE ? ESCAPE '\\'" for column in SEARCHED)


def fts_phrase(term: str) -> str:
    """User text as one FTS5 string: quotes doubled, so no query syntax can leak in."""
    return '"' + term.replace('"', '""') + '"'


def uses_fts(query: str) -> bool:
    return any(len(t) >= 3 for t in query.split())


def text_search(
    alias: str, query: str, candidates: int | None = None
) -> tuple[str, list[Any]]:
    """A WHERE clause finding rows whose content, sender or error contains every term.

    With `candidates`, only that many of the newest full-text matches are considered:
    a common word matches a large part of the table, and sorting all of them to show
    the newest fifty is what made such searches slow.
    """
    terms = query.split()
    long_terms = [t for t in terms if len(t) >= 3]
    short_terms = [t for t in terms if len(t) < 3]
    clauses: list[str] = []
    params: list[Any] = []
    if long_terms:
        # Rows the writer has not indexed yet (the tail, a few hundred at most) are
        # matched directly, so a search never misses what was just written.
        tail = " AND ".join([f"({_any_column_like('')})"] * len(long_terms))
        newest = f" ORDER BY rowid DESC LIMIT {int(candidates)}" if candidates else ""
        clauses.append(
            f"{alias}.id IN (SELECT id FROM message_logs WHERE id > {INDEXED_TO} AND {tail} "
            "UNION ALL SELECT rowid FROM "
            f"(SELECT rowid FROM message_fts WHERE message_fts MATCH ?{newest}))"
        )
        for term in long_terms:
            params.extend([_like_pattern(term)] * len(SEARCHED))
        params.append(" AND ".join(fts_phrase(t) for t in long_terms))
    elif short_terms:
        clauses.append(
            f"{alias}.id IN (SELECT id FROM message_logs "
            f"ORDER BY created_at DESC, id DESC LIMIT {SHORT_TERM_SCAN_ROWS})"
        )
    for term in short_terms:
        pattern = _like_pattern(term)
        clauses.append(f"({_any_column_like(alias + '.')})")
        params.extend([pattern] * len(SEARCHED))
    if not clauses:
        return "1 = 1", []
    return " AND ".join(clauses), params


def fts_candidates(query: str, candidates: int) -> tuple[str, list[Any]]:
    """How many of the newest full-text matches there are (up to `candidates`), and the
    lowest row id among them."""
    match = " AND ".join(fts_phrase(t) for t in query.split() if len(t) >= 3)
    return (
        "SELECT count(*) AS n, min(rowid) AS lowest FROM (SELECT rowid FROM message_fts "
        f"WHERE message_fts MATCH ? ORDER BY rowid DESC LIMIT {int(candidates)})",
        [match],
    )


def time_bucket(column: str, bucket_ms: int) -> str:
    return f"({column} / {int(bucket_ms)}) * {int(bucket_ms)}"


def iso_ms(column: str) -> str:
    """Epoch milliseconds as '2026-11-23T07:16:35.038Z', in integer arithmetic."""
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', {column} / 1000, 'unixepoch') "
        f"|| printf('.%03dZ', {column} % 1000)"
    )


def json_rows(columns: Sequence[str], time_columns: set[str], inner_sql: str) -> str:
    """Wrap a SELECT so SQLite hands back all its rows as one JSON array.

    sqlite3 releases and retakes the GIL for every row it steps; with the writer and the
    event loop contending for it, a 50-row page waited for the GIL 50 times. One row of
    JSON waits once, and json.loads builds the dicts in C.
    """
    fields = ", ".join(
        f"'{name}', {iso_ms(name) if name in time_columns else name}" for name in columns
    )
    return f"SELECT json_group_array(json_object({fields})) FROM ({inner_sql})"


def fetch_json(
    sql: str, params: Sequence[Any]
) -> Callable[[sqlite3.Connection], list[dict[str, Any]]]:
    def run(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        row = conn.execute(sql, params).fetchone()
        rows: list[dict[str, Any]] = json.loads(row[0]) if row and row[0] else []
        return rows

    return run


def equals_caseless(column: str) -> str:
    # The caseless columns have caseless indexes (schema.CASELESS_INDEXES).
    return f"{column} = ? COLLATE NOCASE"


def hinted(table: str, index: str) -> str:
    """`table` read through `index`: without statistics SQLite may pick a worse one."""
    return f"{table} INDEXED BY {index}"


def sequence_mark(table: str) -> str:
    # AUTOINCREMENT keeps the last number handed out even when the table is empty.
    return (
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = "
        f"'{table}'), 0) AS seq"
    )


def identity_floor(table: str) -> None:
    # AUTOINCREMENT continues after the highest id ever inserted, given ones included.
    return None


class SqliteDialect:
    """The functions above, as the engine hands them to the domain (interfaces.Dialect)."""

    uses_fts = staticmethod(uses_fts)
    text_search = staticmethod(text_search)
    fts_candidates = staticmethod(fts_candidates)
    time_bucket = staticmethod(time_bucket)
    equals_caseless = staticmethod(equals_caseless)
    hinted = staticmethod(hinted)
    sequence_mark = staticmethod(sequence_mark)
    identity_floor = staticmethod(identity_floor)
    referencing_sql = (
        "SELECT m.name AS tbl, f.\"from\" AS col FROM sqlite_master AS m "
        "JOIN pragma_foreign_key_list(m.name) AS f "
        "WHERE m.type = 'table' AND f.\"table\" = ?"
    )
    rollup_tables_sql = (
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name LIKE 'stats\\_%' ESCAPE '\\'"
    )
    primary_key_sql = "SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk"
    columns_sql = "SELECT name FROM pragma_table_info(?)"
