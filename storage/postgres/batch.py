"""One write batch on the writer's connection: one transaction, a result per item.

Round trips, not SQL, bound a writer that waits for each statement's answer, so the usual
batch pays as few as it can:

- one statement (a lone write, or a batch of rows of one BulkUpsert merged into one
  multi-row INSERT): it runs on its own, autocommit, one round trip;
- several: BEGIN, one round trip per statement, COMMIT, with no savepoint in between.

A statement that fails aborts the transaction, so only then is the batch redone with each
item in its own SAVEPOINT: the failed item gets its error (it is not run again: the same
items ran before it, so it would fail the same way), every other item commits. Savepoints
on every batch would cost a round trip per item and a subtransaction id each (past 64 in
one transaction PostgreSQL's snapshots overflow to pg_subtrans, slowing every session).

A lost connection is never answered by running anything again: whether the statement or
the COMMIT in flight took effect is unknown. ConnectionLost tells the writer, which fails
the whole batch with StorageIOError and reconnects for the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from ..errors import InvalidQuery, StorageError
from ..interfaces import BulkUpsert, WriteResult
from .error_codes import is_connection_error, translate
from .sql import MAX_PARAMS, Translated, translate_sql

Outcome = WriteResult | StorageError


@dataclass(slots=True)
class WriteItem:
    statement: Translated
    params: Sequence[Any]
    bulk: BulkUpsert | None = None
    enqueued_at: float = 0.0
    future: Any = field(default=None, repr=False)


class ConnectionLost(Exception):
    """The connection dropped during the batch; `maybe_committed` if COMMIT was in flight."""

    def __init__(self, cause: BaseException, maybe_committed: bool) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.maybe_committed = maybe_committed


# PostgreSQL's text cannot hold NUL (SQLSTATE 22021 for any string with one, in a write
# or in a read's filter); SQLite stores it. A NUL in a text parameter becomes U+FFFD, the
# Unicode replacement character: a message with one is stored instead of failing its
# caller (a chat event with a stray \u0000 would otherwise never be logged), and an
# equality filter with one finds the rows written with the same value.
NUL = "\x00"
REPLACEMENT = "\ufffd"


def bound_params(statement: Translated, params: Any) -> tuple[Any, ...]:
    """The parameters as asyncpg takes them, checked against the statement's count."""
    if isinstance(params, dict):
        raise InvalidQuery("named parameters are not supported by the PostgreSQL engine")
    values = tuple(params)
    if len(values) != statement.params:
        raise InvalidQuery(
            f"the statement takes {statement.params} parameters, {len(values)} given")
    if any(type(value) is str and NUL in value for value in values):
        values = tuple(
            value.replace(NUL, REPLACEMENT) if type(value) is str else value
            for value in values
        )
    return values


@lru_cache(maxsize=1024)
def merged_sql(bulk: BulkUpsert, rows: int) -> Translated:
    """`rows` rows of `bulk` in one INSERT, returning each row's id and key."""
    keys = ", ".join(bulk.key_columns)
    return translate_sql(f"{bulk.merged(rows)} RETURNING id, {keys}")


def status_count(status: str) -> int:
    """Rows a command touched, from its status: "INSERT 0 3" -> 3, "UPDATE 2" -> 2."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


# -- planning ---------------------------------------------------------------------

# A step is one statement: a single item's index, or the indexes of merged bulk rows.
Step = tuple[int, ...]


def plan(items: Sequence[WriteItem]) -> list[Step]:
    """Group runs of the same BulkUpsert into merged statements (distinct keys each)."""
    steps: list[Step] = []
    i = 0
    while i < len(items):
        bulk = items[i].bulk
        if bulk is None:
            steps.append((i,))
            i += 1
            continue
        width = bulk.key_width
        per_row = max(1, len(items[i].params))
        most = max(1, MAX_PARAMS // per_row)
        group: list[int] = []
        keys: set[tuple[Any, ...]] = set()
        while i < len(items) and items[i].bulk is bulk:
            key = tuple(items[i].params[:width])
            if None in key:
                # NULLs never conflict: two such rows could not be told apart by key.
                if group:
                    steps.append(tuple(group))
                    group, keys = [], set()
                steps.append((i,))
                i += 1
                continue
            if key in keys or len(group) >= most:
                # The same key twice in one statement is refused by PostgreSQL ("cannot
                # affect row a second time"); the later row goes into the next one, after.
                steps.append(tuple(group))
                group, keys = [], set()
            group.append(i)
            keys.add(key)
            i += 1
        if group:
            steps.append(tuple(group))
    return steps


# -- running ----------------------------------------------------------------------


class _StepFailed(Exception):
    def __init__(self, step: Step, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.step = step
        self.cause = cause


def _statement_error(exc: BaseException) -> bool:
    """A failure of the statement (the session is still fine), not of the connection."""
    if is_connection_error(exc):
        return False
    return isinstance(exc, asyncpg.PostgresError | asyncpg.exceptions._base.DataError |
                      InvalidQuery)


async def _run_one(conn: Any, item: WriteItem) -> WriteResult:
    statement = item.statement  # a BulkUpsert row alone: its single() statement
    params = bound_params(statement, item.params)
    if statement.returns_rows:
        records = await conn.fetch(statement.sql, *params)
        rows = [tuple(r) for r in records]
        first = records[0] if records else None
        row_id = first.get("id") if first is not None else None
        return WriteResult(row_id if isinstance(row_id, int) else None, len(rows), rows)
    status = await conn.execute(statement.sql, *params)
    return WriteResult(None, status_count(status), None)


async def _run_merged(conn: Any, items: Sequence[WriteItem], step: Step) -> list[Outcome]:
    bulk = items[step[0]].bulk
    assert bulk is not None
    statement = merged_sql(bulk, len(step))
    params = [p for i in step for p in items[i].params]
    bound = bound_params(statement, params)
    records = await conn.fetch(statement.sql, *bound)
    # Matched by key, not by position: RETURNING's order is not promised.
    ids = {tuple(r)[1:]: r[0] for r in records}
    width = bulk.key_width
    outcomes: list[Outcome] = []
    for i in step:
        row_id = ids.get(tuple(items[i].params[:width]))
        # No row back: the conflict clause skipped it (DO NOTHING, or a WHERE).
        outcomes.append(WriteResult(row_id, 1) if row_id is not None else WriteResult(None, 0))
    return outcomes


async def _run_step(conn: Any, items: Sequence[WriteItem], step: Step) -> list[Outcome]:
    try:
        if len(step) == 1:
            return [await _run_one(conn, items[step[0]])]
        return await _run_merged(conn, items, step)
    except Exception as exc:
        if _statement_error(exc):
            raise _StepFailed(step, exc) from exc
        raise


async def _commit(conn: Any) -> StorageError | None:
    """COMMIT; the error when the server refused it (a deferred constraint, checked at
    COMMIT, fails the transaction as a whole), rolled back. A lost connection raises."""
    try:
        await conn.execute("COMMIT")
    except Exception as exc:
        if not _statement_error(exc):
            raise
        await _rollback(conn)
        return translate(exc)
    return None


async def run_batch(conn: Any, items: Sequence[WriteItem]) -> tuple[list[Outcome], bool]:
    """Commit `items` in one transaction: (an outcome per item, whether savepoints ran).

    Raises ConnectionLost when the connection drops; nothing is retried then.
    """
    steps = plan(items)
    maybe_committed = False
    known: dict[int, StorageError] = {}  # items whose error the first attempt found
    try:
        if len(steps) == 1:
            maybe_committed = True  # autocommit: the statement is its own COMMIT
            try:
                return await _run_step(conn, items, steps[0]), False
            except _StepFailed as failed:
                if len(failed.step) == 1:
                    return [translate(failed.cause, items[0].statement.sql)], False
        else:
            await conn.execute("BEGIN")
            outcomes: list[Outcome] = []
            try:
                for step in steps:
                    outcomes.extend(await _run_step(conn, items, step))
            except _StepFailed as failed:
                await _rollback(conn)
                if len(failed.step) == 1:
                    index = failed.step[0]
                    known[index] = translate(failed.cause, items[index].statement.sql)
            else:
                maybe_committed = True
                refused = await _commit(conn)
                if refused is not None:
                    return [refused] * len(items), False
                return outcomes, False
        maybe_committed = False
        outcomes = await _run_isolated(conn, items, known)
        maybe_committed = True
        refused = await _commit(conn)
        if refused is not None:
            return [refused if isinstance(o, WriteResult) else o for o in outcomes], True
        return outcomes, True
    except Exception as exc:
        if is_connection_error(exc) or conn.is_closed():
            raise ConnectionLost(exc, maybe_committed) from exc
        raise


async def _run_isolated(
    conn: Any, items: Sequence[WriteItem], known: dict[int, StorageError]
) -> list[Outcome]:
    """Each item in its own savepoint: a bad one fails alone. Leaves COMMIT to the caller."""
    outcomes: list[Outcome] = []
    await conn.execute("BEGIN; SAVEPOINT item")
    last = len(items) - 1
    for index, item in enumerate(items):
        if index in known:
            outcomes.append(known[index])
            continue
        try:
            outcomes.append(await _run_one(conn, item))
        except Exception as exc:
            if not _statement_error(exc):
                raise
            outcomes.append(translate(exc, item.statement.sql))
            # The savepoint stays after ROLLBACK TO: the next item starts inside it.
            await conn.execute("ROLLBACK TO SAVEPOINT item")
            continue
        if index != last:
            await conn.execute("RELEASE SAVEPOINT item; SAVEPOINT item")
    return outcomes


async def _rollback(conn: Any) -> None:
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")
