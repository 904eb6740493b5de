"""What the domain modules speak to (Store), and what each engine offers (Engine, Dialect).

Domain modules (message logs, accounts, deliveries, ...) import this module and never an
engine; engines (storage.sqlite, later storage.postgres) implement it and never import the
domain. AsyncDatabase joins the two: it picks an engine and is the Store.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from .secretbox import SecretBox

T = TypeVar("T")
Params = Sequence[Any] | dict[str, Any]
ChangeListener = Callable[[list[int]], None]


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one write did: its own insert's row id, the rows it changed, RETURNING rows."""

    lastrowid: int | None
    rowcount: int
    rows: list[tuple[Any, ...]] | None = None


@dataclass(frozen=True, slots=True)
class BulkUpsert:
    """An INSERT that the writer may merge with its neighbours into one multi-row statement.

    The first `len(key_columns)` parameters of each row are a unique key. A batch first
    tries every row as new (`ON CONFLICT ... DO NOTHING`): when all of them went in, their
    ids are the consecutive run ending at `lastrowid` (a rowid table numbers a statement's
    rows in order), and no lookup is needed. Otherwise the transaction is redone with the
    real upsert, and one lookup by those keys tells every caller its own row id.
    """

    head: str
    row: str
    conflict: str
    table: str
    key_columns: tuple[str, ...]
    # (parameter index, value): a row with that value may make a trigger insert rows
    # into the same table within the statement, so the new ids are not a run.
    spawns: tuple[int, Any] | None = None
    # Built once: every queued write of this kind carries it.
    single_sql: str = field(init=False)
    fresh_tail: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "single_sql", f"{self.head}{self.row} {self.conflict} RETURNING id"
        )
        object.__setattr__(
            self, "fresh_tail", f" ON CONFLICT ({', '.join(self.key_columns)}) DO NOTHING"
        )

    @property
    def key_width(self) -> int:
        return len(self.key_columns)

    def spawning(self, rows: Iterable[Sequence[Any]]) -> bool:
        """Whether a trigger may have put rows between these rows' new ids."""
        if self.spawns is None:
            return False
        index, value = self.spawns
        return any(params[index] == value for params in rows)

    def single(self) -> str:
        return self.single_sql

    def merged(self, rows: int) -> str:
        return self.head + ",".join([self.row] * rows) + " " + self.conflict

    def fresh(self, rows: int) -> str:
        """The rows as new ones only: a row whose key exists is skipped, not updated."""
        return self.head + ",".join([self.row] * rows) + self.fresh_tail


def copy_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A caller's own copy of shared rows (their values are immutable)."""
    return [dict(row) for row in rows]


def share_key(sql: str, params: Sequence[Any] | dict[str, Any]) -> Hashable | None:
    """What makes two reads the same read; None when a parameter cannot be hashed."""
    pairs = sorted(params.items()) if isinstance(params, dict) else enumerate(params)
    # With the types: 1, 1.0 and True are equal keys in Python but bind differently.
    values = tuple((name, type(value), value) for name, value in pairs)
    try:
        hash(values)
    except TypeError:
        return None
    return (sql, values)


class Dialect(Protocol):
    """SQL that differs between engines, for the queries the domain builds."""

    def uses_fts(self, query: str) -> bool: ...
    def text_search(
        self, alias: str, query: str, candidates: int | None = None
    ) -> tuple[str, list[Any]]: ...
    def fts_candidates(self, query: str, candidates: int) -> tuple[str, list[Any]]: ...
    def time_bucket(self, column: str, bucket_ms: int) -> str: ...
    def equals_caseless(self, column: str) -> str: ...
    def hinted(self, table: str, index: str) -> str: ...
    # SELECT ... AS seq: the last number `table`'s identity handed out (0 if none).
    def sequence_mark(self, table: str) -> str: ...
    # A write moving `table`'s next id above the one parameter (None: the engine does it
    # by itself when a row is given an id, as SQLite's AUTOINCREMENT does).
    def identity_floor(self, table: str) -> str | None: ...
    # (tbl, col) of the foreign keys pointing at the table given as the one parameter.
    referencing_sql: str
    # name of each statistics rollup table.
    rollup_tables_sql: str
    # name of each primary-key column of the table given as the one parameter, in order.
    primary_key_sql: str
    # name of each column of the table given as the one parameter.
    columns_sql: str


Statement = tuple[str, Params]


class Lead(Protocol):
    """The right to run a job (retention, delivery) that one instance at a time runs."""

    @property
    def lost(self) -> bool: ...
    async def release(self) -> None: ...


class ProcessLead:
    """One process per database file: its jobs always lead."""

    lost = False

    async def release(self) -> None:
        return None


class Store(Protocol):
    """The storage primitives every domain module uses (AsyncDatabase provides them)."""

    path: Path
    secret_box: SecretBox | None
    dialect: Dialect

    async def execute_write(self, sql: str, params: Params = ()) -> WriteResult: ...
    async def submit_bulk(self, bulk: BulkUpsert, params: Sequence[Any]) -> WriteResult: ...
    async def execute_read(self, sql: str, params: Params = ()) -> list[dict[str, Any]]: ...
    async def execute_one(self, sql: str, params: Params = ()) -> dict[str, Any] | None: ...
    async def read_many(self, statements: Sequence[Statement]) -> list[list[dict[str, Any]]]: ...
    async def read_shown(
        self, sql: str, params: Sequence[Any], columns: Sequence[str],
        time_columns: set[str], shared: bool = True,
    ) -> list[dict[str, Any]]: ...
    async def scrubbed_write(self, sql: str, params: Params = ()) -> WriteResult: ...
    async def forget_old_versions(self) -> tuple[bool, int]: ...
    async def reclaim_space(self) -> int: ...
    def notify_changed(self, ids: list[int]) -> None: ...
