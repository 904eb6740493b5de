"""One write batch, run on the writer thread: one transaction, a result per item."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import StorageError
from ..interfaces import BulkUpsert, WriteResult
from .error_codes import SQLITE_BUSY, is_io_error, primary_code, translate

# SQLite 3.32+ allows 32766 bound parameters per statement.
MAX_PARAMS = 32766
BEGIN_RETRY_SECONDS = 30.0


@dataclass(slots=True)
class WriteItem:
    sql: str
    params: Sequence[Any]
    bulk: BulkUpsert | None = None
    enqueued_at: float = 0.0
    future: Any = field(default=None, repr=False)


Outcome = WriteResult | StorageError


def lookup_sql(bulk: BulkUpsert, rows: int) -> str:
    # RETURNING would hand back one row per sqlite3 step, and every step gives up and
    # retakes the GIL; one JSON array comes back in a single step.
    marks = "(" + ", ".join("?" * bulk.key_width) + ")"
    on = " AND ".join(f"m.{c} = v.column{i}" for i, c in enumerate(bulk.key_columns, 1))
    keys = ", ".join(f"v.column{i}" for i in range(1, bulk.key_width + 1))
    return (
        f"SELECT json_group_array(json_array(m.id, {keys})) "
        f"FROM (VALUES {','.join([marks] * rows)}) AS v JOIN {bulk.table} AS m ON {on}"
    )



class _NotAllNew(Exception):
    """A fresh-rows attempt met an existing key: redo the batch with the upsert."""


class _TransactionLost(Exception):
    """A statement's conflict clause (OR ROLLBACK, RAISE(ROLLBACK)) ended the transaction.

    `index` is the item whose statement it was, when one statement was one item's.
    """

    def __init__(self, error: StorageError, index: int | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.index = index


def _lost_or_raise(conn: sqlite3.Connection, exc: sqlite3.Error) -> None:
    """Re-raise an I/O error; a statement that rolled the batch back becomes a loss."""
    if is_io_error(exc):
        raise exc
    if not conn.in_transaction:
        raise _TransactionLost(translate(exc)) from exc


def run_batch(conn: sqlite3.Connection, items: Sequence[WriteItem]) -> list[Outcome]:
    """Commit `items` in one transaction; a bad item fails alone, an I/O error fails all."""
    bulk = _only_new_rows(items)
    if bulk is not None and not conn.in_transaction:
        done = _run_autocommit(conn, bulk, items)
        if done is not None:
            return done
    try:
        return _run_batch(conn, items, fresh_first=True)
    except _NotAllNew:
        rollback(conn)
    return _run_batch(conn, items, fresh_first=False)


def _only_new_rows(items: Sequence[WriteItem]) -> BulkUpsert | None:
    """The batch's one BulkUpsert if every item is one of its rows, keys all distinct."""
    bulk = items[0].bulk if items else None
    if bulk is None or any(item.bulk is not bulk for item in items):
        return None
    if len(items) * len(items[0].params) > MAX_PARAMS:
        return None
    width = bulk.key_width
    if len(items) > 1 and len({tuple(item.params[:width]) for item in items}) < len(items):
        return None  # a key twice: the second is an update, the upsert path orders them
    return bulk


def _run_autocommit(
    conn: sqlite3.Connection, bulk: BulkUpsert, items: Sequence[WriteItem]
) -> list[Outcome] | None:
    """The usual batch, new rows only, as one autocommit statement (its own transaction).

    No BEGIN and no COMMIT: each statement makes the writer give up the GIL and wait to
    get it back from the busy event loop, and these were three of a batch's five waits.
    When every row went in, their ids are the consecutive run ending at `lastrowid`.
    Rows whose key existed were skipped: they get the upsert in a transaction of their
    own, after the new rows were committed. None after an error (nothing was written):
    the full path runs and reports it.
    """
    count = len(items)
    params = items[0].params if count == 1 else [p for item in items for p in item.params]
    try:
        cur = conn.execute(bulk.fresh(count), params)
    except sqlite3.Error:
        return None
    inserted = cur.rowcount
    if inserted == count and cur.lastrowid is not None:
        if count > 1 and bulk.spawning(i.params for i in items):
            ids = _ids_by_key(conn, bulk, items)
            width = bulk.key_width
            return [_found(ids.get(tuple(item.params[:width]))) for item in items]
        first = cur.lastrowid - count + 1
        return [WriteResult(first + i, 1) for i in range(count)]
    if inserted <= 0:
        return _run_batch(conn, items, fresh_first=False)
    # Some went in. Skipped rows may still have used up ids, so the new ones are not a
    # run; but every row that existed before is older than every row this statement
    # added, so the new rows are the `inserted` highest ids among these keys.
    width = bulk.key_width
    ids = _ids_by_key(conn, bulk, items)
    new_ids = set(sorted(ids.values(), reverse=True)[:inserted])
    outcomes: list[Outcome | None] = [None] * count
    existed: list[int] = []
    for i, item in enumerate(items):
        row_id = ids.get(tuple(item.params[:width]))
        if row_id is not None and row_id in new_ids:
            outcomes[i] = WriteResult(row_id, 1)
        else:
            existed.append(i)
    updated = _run_batch(conn, [items[i] for i in existed], fresh_first=False)
    for i, outcome in zip(existed, updated, strict=True):
        outcomes[i] = outcome
    return [o if o is not None else StorageError("no outcome") for o in outcomes]


def _run_batch(
    conn: sqlite3.Connection, items: Sequence[WriteItem], *, fresh_first: bool
) -> list[Outcome]:
    try:
        begin_immediate(conn)
    except sqlite3.Error as exc:
        err = translate(exc)
        return [err] * len(items)
    outcomes: list[Outcome | None] = [None] * len(items)
    try:
        start = 0
        while start < len(items):
            end = start + 1
            bulk = items[start].bulk
            if bulk is not None:
                while end < len(items) and items[end].bulk is bulk:
                    end += 1
                if not (fresh_first and _run_fresh(conn, bulk, items, start, end, outcomes)):
                    _run_bulk(conn, bulk, items, start, end, outcomes)
            else:
                try:
                    outcomes[start] = _run_one(conn, items[start])
                except _TransactionLost as lost:
                    lost.index = start
                    raise
            start = end
        # commit() releases the GIL once; execute("COMMIT") twice (step, then reset), and
        # every release lets the event loop in, to be waited for again.
        conn.commit()
    except _TransactionLost as lost:
        rollback(conn)
        return _without_culprit(conn, items, lost)
    except sqlite3.Error as exc:
        rollback(conn)
        # Only an I/O error is an I/O error: a constraint checked at COMMIT stays one.
        return [translate(exc)] * len(items)
    return [o if o is not None else StorageError("no outcome") for o in outcomes]


def _without_culprit(
    conn: sqlite3.Connection, items: Sequence[WriteItem], lost: _TransactionLost
) -> list[Outcome]:
    """Fail the statement that ended the transaction alone; its neighbours commit again."""
    if lost.index is None:
        # One multi-row statement took it down: each of its rows on its own finds it.
        if len(items) == 1:
            return [lost.error]
        return [_run_batch(conn, [item], fresh_first=False)[0] for item in items]
    outcomes: list[Outcome] = [lost.error] * len(items)
    others = [i for i in range(len(items)) if i != lost.index]
    if others:
        redone = _run_batch(conn, [items[i] for i in others], fresh_first=False)
        for i, outcome in zip(others, redone, strict=True):
            outcomes[i] = outcome
    return outcomes


def begin_immediate(conn: sqlite3.Connection) -> None:
    # busy_timeout already waits; a foreign writer holding the lock longer only delays us.
    deadline = time.monotonic() + BEGIN_RETRY_SECONDS
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if primary_code(exc) != SQLITE_BUSY or time.monotonic() >= deadline:
                raise


def rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass


def _statement_failed(conn: sqlite3.Connection, exc: sqlite3.Error) -> Outcome:
    """A failed statement: its own error, unless it took the transaction down with it."""
    _lost_or_raise(conn, exc)
    return translate(exc)


def _run_one(conn: sqlite3.Connection, item: WriteItem) -> Outcome:
    try:
        cur = conn.execute(item.sql, item.params)
        rows = cur.fetchall() if cur.description is not None else None
        return WriteResult(cur.lastrowid, cur.rowcount, rows)
    except sqlite3.Error as exc:
        return _statement_failed(conn, exc)


def _run_fresh(
    conn: sqlite3.Connection,
    bulk: BulkUpsert,
    items: Sequence[WriteItem],
    start: int,
    end: int,
    outcomes: list[Outcome | None],
) -> bool:
    """Insert items[start:end] as new rows in one statement; False if that cannot apply.

    The usual batch holds only new keys, and this path costs one statement where the
    upsert costs two plus a JSON parse; each statement gives up and retakes the GIL
    twice while the event loop holds it most of the time.
    """
    width = bulk.key_width
    count = end - start
    per_row = len(items[start].params)
    if count * per_row > MAX_PARAMS:
        return False
    if count > 1 and len({tuple(items[i].params[:width]) for i in range(start, end)}) < count:
        return False  # a key twice in one batch: the second is an update
    params = [p for i in range(start, end) for p in items[i].params]
    try:
        cur = conn.execute(bulk.fresh(count), params)
    except sqlite3.Error as exc:
        _lost_or_raise(conn, exc)
        return False  # a bad row: the upsert path finds it row by row
    if cur.rowcount != count or cur.lastrowid is None:
        raise _NotAllNew
    group = items[start:end]
    if count > 1 and bulk.spawning(i.params for i in group):
        ids = _ids_by_key(conn, bulk, group)
        for i, item in enumerate(group):
            outcomes[start + i] = _found(ids.get(tuple(item.params[:width])))
        return True
    first = cur.lastrowid - count + 1
    for i in range(count):
        outcomes[start + i] = WriteResult(first + i, 1)
    return True


def _found(row_id: int | None) -> Outcome:
    if row_id is None:
        return StorageError("row id not found after insert")
    return WriteResult(row_id, 1)


def _run_bulk(
    conn: sqlite3.Connection,
    bulk: BulkUpsert,
    items: Sequence[WriteItem],
    start: int,
    end: int,
    outcomes: list[Outcome | None],
) -> None:
    per_row = max(1, len(items[start].params))
    chunk = max(1, MAX_PARAMS // (per_row + bulk.key_width))
    for lo in range(start, end, chunk):
        hi = min(end, lo + chunk)
        group = items[lo:hi]
        if len(group) == 1:
            outcomes[lo] = _single_at(conn, bulk, group[0], lo)
            continue
        params = [p for item in group for p in item.params]
        try:
            conn.execute(bulk.merged(len(group)), params)
        except sqlite3.Error as exc:
            _lost_or_raise(conn, exc)
            # One bad row fails the whole statement: redo row by row to isolate it.
            for i, item in enumerate(group):
                outcomes[lo + i] = _single_at(conn, bulk, item, lo + i)
            continue
        width = bulk.key_width
        ids = _ids_by_key(conn, bulk, group)
        for i, item in enumerate(group):
            row_id = ids.get(tuple(item.params[:width]))
            outcomes[lo + i] = (
                WriteResult(row_id, 1)
                if row_id is not None
                else StorageError("row id not found after insert")
            )


def _ids_by_key(
    conn: sqlite3.Connection, bulk: BulkUpsert, items: Sequence[WriteItem]
) -> dict[tuple[Any, ...], int]:
    """The row id of each item's key, in one statement."""
    width = bulk.key_width
    keys = [p for item in items for p in item.params[:width]]
    found = conn.execute(lookup_sql(bulk, len(items)), keys).fetchone()[0]
    return {tuple(entry[1:]): entry[0] for entry in json.loads(found)}


def _single_at(conn: sqlite3.Connection, bulk: BulkUpsert, item: WriteItem, index: int) -> Outcome:
    try:
        return _run_bulk_single(conn, bulk, item)
    except _TransactionLost as lost:
        lost.index = index
        raise


def _run_bulk_single(conn: sqlite3.Connection, bulk: BulkUpsert, item: WriteItem) -> Outcome:
    try:
        row = conn.execute(bulk.single(), item.params).fetchone()
    except sqlite3.Error as exc:
        return _statement_failed(conn, exc)
    return WriteResult(row[0] if row else None, 1)
