"""AsyncDatabase: the one door to storage. It opens an engine and speaks the domain."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import accounts, message_logs
from .interfaces import (
    BulkUpsert,
    ChangeListener,
    Dialect,
    Lead,
    Params,
    Statement,
    WriteResult,
)
from .secretbox import SecretBox
from .sqlite.engine import SqliteEngine

if TYPE_CHECKING:
    from .postgres.engine import PostgresEngine


POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_engine(target: str | Path, **options: Any) -> SqliteEngine | PostgresEngine:
    """The engine `target` names: a postgresql:// URL, or else an SQLite file's path."""
    if isinstance(target, str) and target.startswith(POSTGRES_SCHEMES):
        # Imported here: asyncpg is loaded only by those who use PostgreSQL.
        from .postgres.engine import PostgresEngine

        return PostgresEngine(target, **options)
    return SqliteEngine(target, **options)


class AsyncDatabase:
    """Storage over an engine: the SQLite file at `target`, or the PostgreSQL URL it is.

    Keyword options go to the engine (batching, pool sizes, timeouts: see SqliteEngine).
    `secret_box` seals the account secrets the older runtime's calls store; without one
    they are stored as given (as that runtime did) and sealed ones cannot be read back.
    """

    def __init__(
        self, target: str | Path, *, secret_box: SecretBox | None = None, **engine: Any
    ) -> None:
        self.engine: SqliteEngine | PostgresEngine = open_engine(target, **engine)
        self.path = self.engine.path
        self.dialect: Dialect = self.engine.dialect
        self.secret_box = secret_box
        self._listeners: list[ChangeListener] = []

    async def __aenter__(self) -> AsyncDatabase:
        await self.init()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def init(self) -> None:
        """Open (and migrate) the database; start the writer and the readers."""
        await self.engine.init()
        if isinstance(self.engine, SqliteEngine):
            return
        # Every instance on the server commits to one change log: its NOTIFY wakes the
        # listeners here as this process's own writes do.
        self.engine.on_change(lambda: self.notify_changed([]))

    async def close(self) -> None:
        """Refuse new work, commit everything queued, close. Idempotent."""
        await self.engine.close()

    @property
    def closed(self) -> bool:
        return self.engine.closed

    # -- primitives (interfaces.Store) ------------------------------------------------
    # The hot ones hand back the engine's coroutine rather than awaiting it in one more
    # frame of their own: every ingest passes through here.

    def execute_write(self, sql: str, params: Params = ()) -> Coroutine[Any, Any, WriteResult]:
        """Queue a write; after COMMIT return its own lastrowid and rowcount, or raise."""
        return self.engine.execute_write(sql, params)

    def submit_bulk(
        self, bulk: BulkUpsert, params: Sequence[Any]
    ) -> Coroutine[Any, Any, WriteResult]:
        """Queue an insert the writer may merge with its neighbours into one statement."""
        return self.engine.submit_bulk(bulk, params)

    def execute_read(
        self, sql: str, params: Params = ()
    ) -> Coroutine[Any, Any, list[dict[str, Any]]]:
        """Run a read on the pool; rows as dicts (identical reads in flight run once)."""
        return self.engine.execute_read(sql, params)

    async def execute_one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = await self.engine.execute_read(sql, params)
        return rows[0] if rows else None

    async def read_many(
        self, statements: Sequence[Statement]
    ) -> list[list[dict[str, Any]]]:
        """Run every statement in one snapshot; each one's rows as dicts."""
        return await self.engine.read_many(statements)

    def read_shown(
        self,
        sql: str,
        params: Sequence[Any],
        columns: Sequence[str],
        time_columns: set[str],
        shared: bool = True,
    ) -> Coroutine[Any, Any, list[dict[str, Any]]]:
        """Rows of `sql` (selecting `columns`), times as ISO text; identical reads shared."""
        return self.engine.read_shown(sql, params, columns, time_columns, shared)

    async def scrubbed_write(self, sql: str, params: Params = ()) -> WriteResult:
        """A write in its own transaction that leaves no old bytes behind (secrets)."""
        return await self.engine.scrubbed_write(sql, params)

    async def forget_old_versions(self) -> tuple[bool, int]:
        """Drop what still holds old row versions (SQLite: the WAL): (done, free pages)."""
        return await self.engine.forget_old_versions()

    async def try_lead(self, job: str) -> Lead | None:
        """Lead `job` if no other instance on this database does now (None: one does)."""
        return await self.engine.try_lead(job)

    async def reclaim_space(self) -> int:
        """Give space freed by deletes back, in short steps; how many pages."""
        return await self.engine.reclaim_space()

    async def flush_search_index(self) -> int:
        """Index for search the rows not indexed yet; how many (searches never need it)."""
        return await self.engine.flush_search_index()

    async def probe_write(self) -> None:
        """A real, tiny write through the queue: proves the disk takes writes now."""
        await self.engine.probe_write()

    # -- change feed (live tail) --------------------------------------------------

    def add_change_listener(self, listener: ChangeListener) -> None:
        self._listeners.append(listener)

    def remove_change_listener(self, listener: ChangeListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def notify_changed(self, ids: list[int]) -> None:
        for listener in tuple(self._listeners):  # a listener may remove itself
            listener(ids)

    # -- the older runtime's API ---------------------------------------------------

    async def add_account_async(
        self, email: str, password_encrypted: str | None = None, cookie: str | None = None
    ) -> int:
        return await accounts.add(self, email, password_encrypted, cookie)

    async def get_accounts_async(self) -> list[dict[str, Any]]:
        return await accounts.list_all(self)

    async def update_account_status_async(self, account_id: int, status: str) -> bool:
        return await accounts.set_status(self, account_id, status)

    async def add_message_log_async(
        self,
        kook_message_id: Any,
        kook_channel_id: Any,
        content: str | None,
        message_type: Any,
        sender_name: str | None,
        target_platform: str | None,
        target_channel: Any,
        status: str,
        error_message: str | None = None,
        latency_ms: int | None = None,
    ) -> int:
        return await message_logs.log(
            self,
            kook_message_id,
            kook_channel_id,
            content,
            message_type,
            sender_name,
            target_platform,
            target_channel,
            status,
            error_message,
            latency_ms,
        )

    async def get_message_logs_async(
        self,
        limit: int = 100,
        offset: int = 0,
        status: str | None = None,
        platform: str | None = None,
    ) -> list[dict[str, Any]]:
        return await message_logs.legacy_page(self, limit, offset, status, platform)

    # -- observability --------------------------------------------------------------

    @property
    def writable(self) -> bool:
        """False while the last batch failed on I/O, or the writer stopped or wedged."""
        return self.engine.writable

    def writer_problem(self) -> str | None:
        """Why the writer cannot commit (stopped, or no progress while work waits)."""
        return self.engine.writer_problem()

    def add_batch_observer(self, observer: Callable[[int, float], None]) -> None:
        """Called after each batch with (items, seconds): for metrics."""
        self.engine.add_batch_observer(observer)

    def stats(self) -> dict[str, Any]:
        return self.engine.stats()
