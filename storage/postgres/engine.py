"""The PostgreSQL engine: one batched writer connection, an asyncpg pool for reads.

The same primitives as SqliteEngine (storage/sqlite/engine.py), for the same domain SQL:
statements come with SQLite's `?` placeholders and are translated once each (sql.py);
errors arrive as the same typed storage errors (error_codes.py); writes go through one
bounded queue and one connection, a transaction per batch (writer.py, batch.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]

from ..errors import QueryTimeout, StorageClosedError, StorageError
from ..interfaces import BulkUpsert, WriteResult, copy_rows, share_key
from ..timeutil import ms_to_iso, now_ms
from .batch import bound_params
from .dialect import PostgresDialect
from .error_codes import is_connection_error, translate
from .lead import AdvisoryLead, try_lead
from .listen import ChangeListener
from .sql import translate_sql
from .writer import PgWriter

log = logging.getLogger("msglog.storage")
T = TypeVar("T")
ParamsIn = Sequence[Any] | dict[str, Any]
CONNECT_TIMEOUT_S = 10.0
APPLICATION_NAME = "msglog"


def url_without_password(url: str) -> str:
    """`url` with any password left out (for logs, `path` and errors)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}{host}{port}"))


def _rows(records: Sequence[Any]) -> list[dict[str, Any]]:
    return [dict(r.items()) for r in records]


class PostgresEngine:
    """PostgreSQL behind one batched writer connection and an asyncpg read pool."""

    name = "postgres"
    dialect = PostgresDialect()

    def __init__(
        self,
        url: str,
        *,
        batch_size: int = 10,
        flush_interval: float = 0.1,
        batch_max: int = 1000,
        queue_max: int = 10000,
        read_pool_min: int = 2,
        read_pool_max: int = 20,
        query_timeout: float = 5.0,
        enqueue_timeout: float = 2.0,
        writer_stall_timeout: float = 60.0,
        **ignored: Any,
    ) -> None:
        # SQLite-only options (read_idle_timeout, synchronous, checkpoints,
        # legacy_timezone) are accepted so that one set of settings serves both engines.
        self.url = url
        # Not a file: the server's address without the password, as a Path because the
        # Store protocol has one (Path("postgresql://msglog@host:5432/msglog")).
        self.path = Path(url_without_password(url))
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.batch_max = batch_max
        self.queue_max = queue_max
        self.read_pool_min = max(0, read_pool_min)
        self.read_pool_max = max(1, read_pool_max, self.read_pool_min)
        self.query_timeout = query_timeout
        self.enqueue_timeout = enqueue_timeout
        self.writer_stall_timeout = writer_stall_timeout
        self.ignored_options = dict(ignored)
        self._server_settings = {
            "application_name": APPLICATION_NAME,
            "statement_timeout": str(max(0, int(query_timeout * 1000))),
        }
        self._writer: PgWriter | None = None
        self._pool: Any = None
        self._batch_observers: list[Callable[[int, float], None]] = []
        self._closing: asyncio.Task[None] | None = None
        self._opened = False
        self._writer_problem: str | None = None
        # Identical reads in flight share one run (only while no commit came between).
        self._shared: dict[Hashable, asyncio.Task[list[dict[str, Any]]]] = {}
        self._reads_waiting = 0
        self._read_waits = 0
        self._reads = 0  # reads run on a connection
        self._shared_reads = 0  # callers served by joining an identical read in flight
        self._read_timeouts = 0  # reads cancelled by statement_timeout
        self._read_retries = 0
        self._listener: ChangeListener | None = None
        self._change_callbacks: list[Callable[[], None]] = []

    # -- lifecycle -----------------------------------------------------------------

    async def _connect(self, **settings: str) -> Any:
        try:
            return await asyncpg.connect(
                self.url,
                timeout=CONNECT_TIMEOUT_S,
                server_settings={**self._server_settings, **settings},
            )
        except Exception as exc:
            raise translate(exc) from exc

    async def init(self) -> None:
        """Migrate the schema, connect the writer and the read pool, start the writer."""
        if self._opened:
            return
        from .schema import migrate

        # Migrations may build indexes on big tables: no statement timeout for them.
        conn = await self._connect(statement_timeout="0")
        try:
            await migrate(conn)
        except StorageError:
            raise
        except asyncpg.PostgresError as exc:
            raise translate(exc) from exc
        finally:
            await conn.close()
        writer_conn = await self._connect()
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self.read_pool_min,
                max_size=self.read_pool_max,
                timeout=CONNECT_TIMEOUT_S,
                # Read connections refuse writes, as SQLite's query_only ones do: a write
                # goes through the writer's queue or nowhere. (VACUUM is still allowed.)
                server_settings={**self._server_settings, "default_transaction_read_only": "on"},
            )
        except Exception as exc:
            await writer_conn.close()
            raise translate(exc) from exc
        self._writer = PgWriter(
            writer_conn,
            self._connect,
            batch_size=self.batch_size,
            flush_interval=self.flush_interval,
            batch_max=self.batch_max,
            queue_max=self.queue_max,
            enqueue_timeout=self.enqueue_timeout,
            on_batch=self._observe_batch,
        )
        self._writer.start()
        listener = ChangeListener(self._connect, self._changed)
        try:
            await listener.start()
        except BaseException:
            await self._writer.close()
            await self._pool.close()
            raise
        self._listener = listener
        self._opened = True

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever any instance commits a change to message_logs."""
        self._change_callbacks.append(callback)

    def _changed(self) -> None:
        for callback in self._change_callbacks:
            callback()

    async def close(self) -> None:
        """Refuse new work, commit everything queued, close every connection. Idempotent."""
        if not self._opened:
            return
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        assert self._writer is not None
        if self._listener is not None:
            await self._listener.close()
        await self._writer.close()
        pool = self._pool
        try:
            # Reads in flight finish first (bounded by their statement timeout).
            await asyncio.wait_for(pool.close(), timeout=self.query_timeout + 5)
        except TimeoutError:
            log.warning("msglog read pool did not close in time; terminating it")
            pool.terminate()

    @property
    def closed(self) -> bool:
        return self._closing is not None

    # -- writes --------------------------------------------------------------------

    def _live_writer(self) -> PgWriter:
        if self._writer is None:
            raise StorageClosedError("database is not open; call init() first")
        return self._writer

    async def execute_write(self, sql: str, params: ParamsIn = ()) -> WriteResult:
        """Queue a write; after COMMIT return its own result, or raise a StorageError.

        lastrowid is the `id` of the first RETURNING row (None without one); rowcount
        comes from the command status; rows are the RETURNING rows as tuples.
        """
        return await self._live_writer().submit(sql, params)  # type: ignore[arg-type]

    async def submit_bulk(self, bulk: BulkUpsert, params: Sequence[Any]) -> WriteResult:
        """Queue an insert the writer may merge with its neighbours into one statement."""
        return await self._live_writer().submit(bulk.single(), params, bulk)

    async def scrubbed_write(self, sql: str, params: ParamsIn = ()) -> WriteResult:
        """As execute_write: PostgreSQL keeps old row versions until VACUUM either way."""
        return await self.execute_write(sql, params)

    async def probe_write(self) -> None:
        """A real, tiny write through the queue: proves the server takes writes now."""
        await self.execute_write(
            "INSERT INTO msglog_meta (key, value) VALUES ('probe', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(now_ms()),),
        )

    async def flush_search_index(self) -> int:
        """Nothing to catch up: PostgreSQL's indexes are maintained by each statement."""
        self._live_writer()
        return 0

    def add_batch_observer(self, observer: Callable[[int, float], None]) -> None:
        """Called after each batch with (items, seconds): for metrics."""
        self._batch_observers.append(observer)

    def _observe_batch(self, size: int, seconds: float) -> None:
        for observer in self._batch_observers:
            observer(size, seconds)

    # -- reads ---------------------------------------------------------------------

    async def _on_pool(self, fn: Callable[[Any], Awaitable[T]], sql: str | None) -> T:
        """Run `fn(connection)` on a pool connection; once more if the connection died."""
        if self._pool is None:
            raise StorageClosedError("database is not open; call init() first")
        if self.closed:
            raise StorageClosedError("database is closed; read refused")
        for attempt in (1, 2):
            try:
                return await self._once(fn)
            except StorageError:
                raise
            except Exception as exc:
                if attempt == 1 and is_connection_error(exc) and not self.closed:
                    self._read_retries += 1
                    log.warning("msglog read connection lost (%s); retrying once", exc)
                    continue
                err = translate(exc, sql)
                if isinstance(err, QueryTimeout):
                    self._read_timeouts += 1
                raise err from exc
        raise AssertionError("unreachable")

    async def _once(self, fn: Callable[[Any], Awaitable[T]]) -> T:
        pool = self._pool
        if pool.get_idle_size() == 0 and pool.get_size() >= self.read_pool_max:
            self._read_waits += 1
        self._reads_waiting += 1
        try:
            conn = await pool.acquire()
        finally:
            self._reads_waiting -= 1
        try:
            return await fn(conn)
        finally:
            self._reads += 1
            await pool.release(conn)

    async def _fetch(self, sql: str, params: ParamsIn) -> list[dict[str, Any]]:
        statement = translate_sql(sql)
        values = bound_params(statement, params)

        async def run(conn: Any) -> list[dict[str, Any]]:
            return _rows(await conn.fetch(statement.sql, *values))

        return await self._on_pool(run, sql)

    async def execute_read(self, sql: str, params: ParamsIn = ()) -> list[dict[str, Any]]:
        """Run a read on the pool; rows as dicts (identical reads in flight run once)."""
        key = share_key(sql, params)
        if key is None or self._writer is None:
            return await self._fetch(sql, params)
        # A read that began before a commit must not answer for a caller after it.
        key = (key, self._writer.generation)
        task = self._shared.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._fetch(sql, params))
            self._shared[key] = task
            task.add_done_callback(lambda done: self._unshare(key, done))
        else:
            self._shared_reads += 1
        return copy_rows(await asyncio.shield(task))

    def _unshare(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        self._shared.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved: its callers may all have gone

    async def execute_one(self, sql: str, params: ParamsIn = ()) -> dict[str, Any] | None:
        rows = await self.execute_read(sql, params)
        return rows[0] if rows else None

    async def read_shown(
        self,
        sql: str,
        params: Sequence[Any],
        columns: Sequence[str],
        time_columns: set[str],
        shared: bool = True,
    ) -> list[dict[str, Any]]:
        """Rows of `sql` (selecting `columns`) with times as ISO text."""
        rows = await (self.execute_read(sql, params) if shared else self._fetch(sql, params))
        for row in rows:
            for column in time_columns:
                if column in row:
                    row[column] = ms_to_iso(row[column])
        return rows

    async def forget_old_versions(self) -> tuple[bool, int]:
        """VACUUM accounts: the old versions of replaced secrets leave its pages."""

        async def vacuum(conn: Any) -> None:
            await conn.execute("VACUUM accounts")

        await self._on_pool(vacuum, "VACUUM accounts")
        return True, 0

    async def try_lead(self, job: str) -> AdvisoryLead | None:
        """Lead `job` (one instance at a time on this server), or None if another does."""
        if self.closed:
            raise StorageClosedError("database is closed")
        try:
            return await try_lead(self._connect, job)
        except StorageError:
            raise
        except Exception as exc:
            raise translate(exc) from exc

    async def reclaim_space(self) -> int:
        """Nothing to do by hand: autovacuum makes deleted rows' space reusable."""
        return 0

    async def read_many(
        self, statements: Sequence[tuple[str, ParamsIn]]
    ) -> list[list[dict[str, Any]]]:
        """Every statement in one REPEATABLE READ READ ONLY transaction: one snapshot."""
        prepared = []
        for sql, params in statements:
            statement = translate_sql(sql)
            prepared.append((statement.sql, bound_params(statement, params)))

        async def run(conn: Any) -> list[list[dict[str, Any]]]:
            async with conn.transaction(isolation="repeatable_read", readonly=True):
                return [_rows(await conn.fetch(sql, *values)) for sql, values in prepared]

        return await self._on_pool(run, statements[0][0] if statements else None)

    # -- observability --------------------------------------------------------------

    @property
    def writable(self) -> bool:
        """False while the last batch failed on I/O, or the writer stopped or wedged."""
        return (
            self._writer is not None
            and not self._writer.io_failing
            and not self.closed
            and self.writer_problem() is None
        )

    def writer_problem(self) -> str | None:
        """Why the writer cannot commit (stopped, or no progress while work waits)."""
        if self._writer is None:
            return None
        problem = self._writer.problem(self.writer_stall_timeout)
        if problem is not None and self._writer_problem is None:
            log.error("msglog %s", problem)
        elif problem is None and self._writer_problem is not None:
            log.warning("msglog writer making progress again after: %s", self._writer_problem)
        self._writer_problem = problem
        return problem

    def stats(self) -> dict[str, Any]:
        if self._writer is None or self._pool is None:
            raise StorageError("database is not open")
        pool = self._pool
        size = pool.get_size()
        idle = pool.get_idle_size()
        return {
            "writer": self._writer.stats(),
            "read_pool": {
                "size": size,
                "in_use": size - idle,
                "idle": idle,
                "waiting": self._reads_waiting,
                "waits": self._read_waits,
                "retries": self._read_retries,
                "reads": self._reads,
                "shared_reads": self._shared_reads,
                "timeouts": self._read_timeouts,
                "min": self.read_pool_min,
                "max": self.read_pool_max,
            },
            # No WAL file of ours to keep bounded: the keys stay for /metrics' sake.
            "wal": {
                "bytes": 0,
                "last_checkpoint": None,
                "failed_checkpoints": 0,
                "pinned": None,
                "pinned_episodes": 0,
                "managed_by": "postgresql",
            },
        }
