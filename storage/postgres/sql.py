"""SQLite-style `?` placeholders to PostgreSQL's `$1..$n`, once per distinct statement.

The domain writes its SQL once, for both engines, with `?` (and SQLite's `?NNN`).
PostgreSQL numbers its parameters, so every `?` outside string literals, quoted
identifiers, dollar-quoted bodies and comments becomes the next `$n`; inside them it is
text and stays. Translations are cached: the same few hundred statements run all day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..errors import InvalidQuery

# asyncpg (the protocol's Int16 count) takes at most this many bound parameters.
MAX_PARAMS = 32767
_IDENT = re.compile(r"[A-Za-z0-9_$\x80-\U0010ffff]")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_DIGITS = re.compile(r"[0-9]+")
_WORD = re.compile(r"[A-Za-z_]+")
_ROWS_FIRST = {"SELECT", "VALUES", "SHOW", "TABLE", "EXPLAIN"}
_DML = {"INSERT", "UPDATE", "DELETE", "MERGE"}


@dataclass(frozen=True, slots=True)
class Translated:
    """One statement in PostgreSQL's form."""

    sql: str
    # How many parameters it takes (the highest $n).
    params: int
    # Whether it hands back rows (RETURNING, or a query): fetched, not just executed.
    returns_rows: bool


@lru_cache(maxsize=2048)
def translate_sql(sql: str) -> Translated:
    """`sql` with `?` as `$n` outside literals, identifiers and comments."""
    out: list[str] = []
    words: list[str] = []  # the code outside literals, to find RETURNING and the verb
    count = 0
    i = 0
    n = len(sql)
    start = 0  # where the text not yet copied to `out` begins
    wstart = 0  # ... and the code not yet copied to `words`
    while i < n:
        c = sql[i]
        if c == "?":
            out.append(sql[start:i])
            words.append(sql[wstart:i])
            digits = _DIGITS.match(sql, i + 1)
            if digits is not None:  # SQLite's ?NNN names its parameter
                number = int(digits.group())
                i = digits.end()
            else:
                count += 1
                number = count
                i += 1
            count = max(count, number)
            out.append(f"${number}")
            start = wstart = i
            continue
        end = _skip_quoted(sql, i)
        if end is None:
            i += 1
            continue
        words.append(sql[wstart:i] + " ")
        i = wstart = end
    out.append(sql[start:])
    words.append(sql[wstart:])
    if count > MAX_PARAMS:
        raise InvalidQuery(f"statement takes {count} parameters; PostgreSQL allows {MAX_PARAMS}")
    return Translated("".join(out), count, _returns_rows("".join(words)))


def _skip_quoted(sql: str, i: int) -> int | None:
    """The index after the literal, identifier or comment starting at `i`; else None."""
    c = sql[i]
    if c == "'":
        escapes = i > 0 and sql[i - 1] in "eE" and (i < 2 or not _IDENT.match(sql[i - 2]))
        return _end_of_string(sql, i + 1, escapes)
    if c == '"':
        return _end_of_doubled(sql, i + 1, '"')
    if c == "-" and sql.startswith("--", i):
        newline = sql.find("\n", i)
        return len(sql) if newline < 0 else newline + 1
    if c == "/" and sql.startswith("/*", i):
        return _end_of_block_comment(sql, i)
    if c == "$" and (i == 0 or not _IDENT.match(sql[i - 1])):
        tag = _DOLLAR_TAG.match(sql, i)
        if tag is not None:
            close = sql.find(tag.group(), tag.end())
            return len(sql) if close < 0 else close + len(tag.group())
    return None


def _end_of_string(sql: str, i: int, backslash_escapes: bool) -> int:
    n = len(sql)
    while i < n:
        c = sql[i]
        if backslash_escapes and c == "\\":
            i += 2
            continue
        if c == "'":
            if i + 1 < n and sql[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _end_of_doubled(sql: str, i: int, quote: str) -> int:
    n = len(sql)
    while i < n:
        if sql[i] == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _end_of_block_comment(sql: str, i: int) -> int:
    # PostgreSQL's block comments nest.
    depth = 0
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n


def _returns_rows(code: str) -> bool:
    verbs = [w.upper() for w in _WORD.findall(code)]
    if not verbs:
        return False
    if "RETURNING" in verbs:
        return True
    if verbs[0] in _ROWS_FIRST:
        return True
    # WITH ... SELECT: a query unless a data-modifying statement is in it.
    return verbs[0] == "WITH" and not _DML.intersection(verbs)
