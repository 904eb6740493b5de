"""SQL that only SQLite speaks, kept in one place for a later PostgreSQL engine."""

from __future__ import annotations

from typing import Any

# Trigram FTS needs three characters; shorter terms are matched with LIKE over at most
# this many of the newest rows, so a one-letter search can never scan a huge table.
SHORT_TERM_SCAN_ROWS = 50_000


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fts_phrase(term: str) -> str:
    """User text as one FTS5 string: quotes doubled, so no query syntax can leak in."""
    return '"' + term.replace('"', '""') + '"'


def text_search(alias: str, query: str) -> tuple[str, list[Any]]:
    """A WHERE clause finding rows whose content or sender contains every term."""
    terms = query.split()
    long_terms = [t for t in terms if len(t) >= 3]
    short_terms = [t for t in terms if len(t) < 3]
    clauses: list[str] = []
    params: list[Any] = []
    if long_terms:
        clauses.append(
            f"{alias}.id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ?)"
        )
        params.append(" AND ".join(fts_phrase(t) for t in long_terms))
    elif short_terms:
        clauses.append(
            f"{alias}.id IN (SELECT id FROM message_logs "
            f"ORDER BY created_at DESC, id DESC LIMIT {SHORT_TERM_SCAN_ROWS})"
        )
    for term in short_terms:
        pattern = _like_pattern(term)
        clauses.append(
            f"({alias}.content LIKE ? ESCAPE '\\' OR {alias}.sender_name LIKE ? ESCAPE '\\')"
        )
        params.extend([pattern, pattern])
    if not clauses:
        return "1 = 1", []
    return " AND ".join(clauses), params


def time_bucket(column: str, bucket_ms: int) -> str:
    return f"({column} / {int(bucket_ms)}) * {int(bucket_ms)}"
