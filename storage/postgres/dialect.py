"""SQL that only PostgreSQL speaks: trigram search, caseless equality, catalog queries."""

from __future__ import annotations

from typing import Any

# Trigram indexes need three characters; shorter terms are matched with ILIKE over at
# most this many of the newest rows, so a one-letter search never scans a huge table.
SHORT_TERM_SCAN_ROWS = 50_000
# The columns a search looks in (each has a pg_trgm GIN index).
SEARCHED = ("content", "sender_name", "error_message")
# The table given as the one parameter, in the schema msglog runs in.
_TABLE = (
    "(SELECT oid FROM pg_class "
    "WHERE relname = ? AND relnamespace = current_schema()::regnamespace)"
)


def like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _any_column(prefix: str) -> str:
    return "(" + " OR ".join(f"{prefix}{column} ILIKE ?" for column in SEARCHED) + ")"


def uses_fts(query: str) -> bool:
    # The trigram index answers the whole query in one pass ordered by the planner: no
    # first pass over the newest candidates as on SQLite.
    return False


def text_search(alias: str, query: str, candidates: int | None = None) -> tuple[str, list[Any]]:
    """A WHERE clause finding rows whose content, sender or error contains every term.

    ILIKE '%term%' (backslash escapes are PostgreSQL's default) is served by the trigram
    indexes for terms of three characters or more; `candidates` is SQLite's and unused.
    """
    terms = query.split()
    if not terms:
        return "1 = 1", []
    clauses: list[str] = []
    params: list[Any] = []
    if all(len(t) < 3 for t in terms):
        clauses.append(
            f"{alias}.id IN (SELECT id FROM message_logs "
            f"ORDER BY created_at DESC, id DESC LIMIT {SHORT_TERM_SCAN_ROWS})"
        )
    for term in terms:
        clauses.append(_any_column(f"{alias}."))
        params.extend([like_pattern(term)] * len(SEARCHED))
    return " AND ".join(clauses), params


def fts_candidates(query: str, candidates: int) -> tuple[str, list[Any]]:
    # Never asked for (uses_fts is False); an answer that means "no candidate pass".
    return "SELECT 0 AS n, NULL::bigint AS lowest", []


def time_bucket(column: str, bucket_ms: int) -> str:
    return f"({column} / {int(bucket_ms)}) * {int(bucket_ms)}"


def equals_caseless(column: str) -> str:
    # The caseless columns have lower() indexes (schema.py).
    return f"lower({column}) = lower(?)"


def hinted(table: str, index: str) -> str:
    # The planner has statistics (autovacuum analyses): no hints.
    return table


def sequence_mark(table: str) -> str:
    # The identity's sequence remembers the last number handed out, also when the table
    # is empty; NULL before the first.
    return (
        "SELECT coalesce((SELECT last_value FROM pg_sequences WHERE "
        "format('%I.%I', schemaname, sequencename) = "
        f"pg_get_serial_sequence('{table}', 'seq')), 0) AS seq"
    )


def identity_floor(table: str) -> str:
    # Rows given their ids (an import) do not move the identity: without this, a later
    # default id would collide with one of them.
    sequence = f"pg_get_serial_sequence('{table}', 'id')"
    return (
        f"SELECT setval({sequence}, greatest(CAST(? AS bigint), coalesce((SELECT last_value "
        f"FROM pg_sequences WHERE format('%I.%I', schemaname, sequencename) = {sequence}), "
        "0))) AS floor"
    )


class PostgresDialect:
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
        "SELECT t.relname AS tbl, a.attname AS col FROM pg_constraint AS c "
        "JOIN pg_class AS t ON t.oid = c.conrelid "
        "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey) "
        f"WHERE c.contype = 'f' AND c.confrelid = {_TABLE}"
    )
    rollup_tables_sql = (
        "SELECT table_name AS name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name LIKE 'stats\\_%'"
    )
    primary_key_sql = (
        "SELECT a.attname AS name FROM pg_index AS i JOIN pg_attribute AS a "
        "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
        f"WHERE i.indisprimary AND i.indrelid = {_TABLE} "
        "ORDER BY array_position(i.indkey::int2[], a.attnum)"
    )
    columns_sql = (
        "SELECT column_name AS name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = ?"
    )
