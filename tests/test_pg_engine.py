"""PostgresEngine against a real throwaway server (tests/pg_server.py), one behaviour each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from storage.errors import (
    IntegrityViolation,
    InvalidQuery,
    QueryTimeout,
    StorageClosedError,
    StorageIOError,
    StorageOverloaded,
)
from storage.interfaces import BulkUpsert, WriteResult
from storage.postgres import batch as batch_module
from storage.postgres.batch import WriteItem, plan, status_count
from storage.postgres.engine import PostgresEngine, url_without_password
from storage.postgres.sql import translate_sql

ITEMS = """
CREATE TABLE items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    k text NOT NULL UNIQUE,
    v text CHECK (v IS DISTINCT FROM 'bad'),
    n integer NOT NULL DEFAULT 0
)"""
INSERT = "INSERT INTO items (k) VALUES (?) RETURNING id"
ITEM_UPSERT = BulkUpsert(
    head="INSERT INTO items (k, v) VALUES ",
    row="(?, ?)",
    conflict="ON CONFLICT (k) DO UPDATE SET v = excluded.v, n = items.n + 1",
    table="items",
    key_columns=("k",),
)
MakeEngine = Callable[..., Awaitable[PostgresEngine]]


@pytest.fixture
async def direct(pg_database: str) -> AsyncIterator[Any]:
    """A connection of the test's own, beside the engine's, with the test table."""
    conn = await asyncpg.connect(pg_database)
    await conn.execute(ITEMS)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def make_engine(pg_database: str, direct: Any) -> AsyncIterator[MakeEngine]:
    engines: list[PostgresEngine] = []

    async def make(**options: Any) -> PostgresEngine:
        engine = PostgresEngine(pg_database, **options)
        await engine.init()
        engines.append(engine)
        return engine

    try:
        yield make
    finally:
        for engine in engines:
            await engine.close()


@pytest.fixture
async def engine(make_engine: MakeEngine) -> PostgresEngine:
    return await make_engine()


async def ids_by_key(direct: Any) -> dict[str, int]:
    return {r["k"]: r["id"] for r in await direct.fetch("SELECT k, id FROM items")}


async def terminate_when_running(direct: Any, pattern: str) -> int:
    """Terminate the backend running a statement like `pattern` (waits for it to start)."""
    for _ in range(200):
        pid = await direct.fetchval(
            "SELECT pid FROM pg_stat_activity WHERE state = 'active' AND query LIKE $1 "
            "AND pid <> pg_backend_pid()", pattern)
        if pid is not None:
            assert await direct.fetchval("SELECT pg_terminate_backend($1)", pid)
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no statement like {pattern!r} started")


# -- placeholders and results -------------------------------------------------------


def test_placeholders_become_numbered_outside_literals_identifiers_and_comments() -> None:
    t = translate_sql(
        "SELECT ?, 'a?b', \"c?\", E'it\\'s ?', $$ ? $$, $q$ ? $q$ /* ? /* ? */ ? */ "
        "FROM x WHERE y = ? -- ?\n AND 'it''s ?' = ?")
    assert t.sql == (
        "SELECT $1, 'a?b', \"c?\", E'it\\'s ?', $$ ? $$, $q$ ? $q$ /* ? /* ? */ ? */ "
        "FROM x WHERE y = $2 -- ?\n AND 'it''s ?' = $3")
    assert t.params == 3
    assert translate_sql("UPDATE t SET a = ?1, b = ?1").sql == "UPDATE t SET a = $1, b = $1"


def test_statements_that_return_rows_are_told_from_those_that_do_not() -> None:
    assert translate_sql("INSERT INTO t (a) VALUES (?) RETURNING id").returns_rows
    assert translate_sql("WITH x AS (SELECT 1) SELECT * FROM x").returns_rows
    assert not translate_sql("INSERT INTO t (a) VALUES ('RETURNING')").returns_rows
    assert not translate_sql("UPDATE t SET a = 1").returns_rows


def test_rowcount_comes_from_the_command_status() -> None:
    assert status_count("INSERT 0 3") == 3
    assert status_count("UPDATE 2") == 2
    assert status_count("DELETE 1") == 1
    assert status_count("CREATE TABLE") == -1


def test_a_key_twice_in_a_batch_goes_into_separate_statements() -> None:
    items = [WriteItem(translate_sql(ITEM_UPSERT.single()), (k, None), ITEM_UPSERT)
             for k in ("a", "b", "a", "c")]
    assert plan(items) == [(0, 1), (2, 3)]


def test_the_path_names_the_server_without_the_password() -> None:
    url = "postgresql://msglog:secret@db.example:5432/msglog"
    assert url_without_password(url) == "postgresql://msglog@db.example:5432/msglog"
    assert "secret" not in str(PostgresEngine(url).path)


async def test_literal_question_marks_are_left_alone(engine: PostgresEngine) -> None:
    rows = await engine.execute_read("SELECT '?' AS q, ?::text AS a, 1 AS \"is it?\"", ("x",))
    assert rows == [{"q": "?", "a": "x", "is it?": 1}]
    written = await engine.execute_write(
        "INSERT INTO items (k, v) VALUES ('what?', ?) RETURNING id, v", ("yes?",))
    assert written.rows == [(written.lastrowid, "yes?")]


async def test_write_results_carry_rowcount_and_returned_rows(engine: PostgresEngine) -> None:
    inserted = await engine.execute_write(
        "INSERT INTO items (k) VALUES (?), (?), (?)", ("a", "b", "c"))
    assert inserted == WriteResult(None, 3, None)
    updated = await engine.execute_write("UPDATE items SET n = n + 1 WHERE k <> ?", ("a",))
    assert updated.rowcount == 2
    deleted = await engine.execute_write("DELETE FROM items WHERE k = ? RETURNING id, k", ("c",))
    assert deleted.rowcount == 1 and deleted.rows is not None and deleted.rows[0][1] == "c"
    assert deleted.lastrowid == deleted.rows[0][0]


# -- the batched writer -------------------------------------------------------------


async def test_a_lone_write_commits_without_waiting_for_a_batch(
        make_engine: MakeEngine) -> None:
    engine = await make_engine(flush_interval=2.0, batch_size=100)
    await engine.execute_write(INSERT, ("warm",))
    started = time.perf_counter()
    await engine.execute_write(INSERT, ("lone",))
    assert time.perf_counter() - started < 0.5


async def test_concurrent_writes_each_get_their_own_id_and_are_committed(
        engine: PostgresEngine, direct: Any) -> None:
    sizes: list[int] = []
    engine.add_batch_observer(lambda items, _seconds: sizes.append(items))
    keys = [f"k{i}" for i in range(50)]
    results = await asyncio.gather(*(engine.execute_write(INSERT, (k,)) for k in keys))
    on_disk = await ids_by_key(direct)  # another session: only committed rows
    assert [r.lastrowid for r in results] == [on_disk[k] for k in keys]
    assert len({r.lastrowid for r in results}) == 50
    assert sum(sizes) == 50 and len(sizes) < 50


async def test_one_failing_write_fails_alone_while_its_batch_commits(
        engine: PostgresEngine, direct: Any) -> None:
    await direct.execute("INSERT INTO items (k) VALUES ('taken')")
    sizes: list[int] = []
    engine.add_batch_observer(lambda items, _seconds: sizes.append(items))
    keys = ["a", "b", "taken", "c", "d"]
    results = await asyncio.gather(*(engine.execute_write(INSERT, (k,)) for k in keys),
                                   return_exceptions=True)
    assert sizes == [5]
    failed = results[2]
    assert isinstance(failed, IntegrityViolation) and failed.kind == "unique"
    on_disk = await ids_by_key(direct)
    for key, result in zip(keys, results, strict=True):
        if key != "taken":
            assert isinstance(result, WriteResult) and result.lastrowid == on_disk[key]
    assert engine.stats()["writer"]["isolated_batches"] == 1


async def test_merged_bulk_rows_each_get_their_own_id_new_or_existing(
        engine: PostgresEngine, direct: Any) -> None:
    await direct.execute("INSERT INTO items (k, v) VALUES ('old1', 'x'), ('old2', 'x')")
    before = await ids_by_key(direct)
    sizes: list[int] = []
    engine.add_batch_observer(lambda items, _seconds: sizes.append(items))
    rows = [("new1", "a"), ("old1", "b"), ("new2", "c"), ("old2", "d"), ("new1", "e")]
    results = await asyncio.gather(*(engine.submit_bulk(ITEM_UPSERT, r) for r in rows))
    assert sizes == [5]
    on_disk = await ids_by_key(direct)
    assert [r.lastrowid for r in results] == [on_disk[k] for k, _ in rows]
    assert on_disk["old1"] == before["old1"] and on_disk["old2"] == before["old2"]
    # The key given twice: one row, updated by the later caller.
    assert results[0].lastrowid == results[4].lastrowid
    assert await direct.fetchval("SELECT v FROM items WHERE k = 'new1'") == "e"
    assert await direct.fetchval("SELECT n FROM items WHERE k = 'new1'") == 1
    assert engine.stats()["writer"]["isolated_batches"] == 0


async def test_bulk_rows_of_one_batch_go_in_one_statement(
        engine: PostgresEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    merged: list[int] = []
    original = batch_module.merged_sql

    def spy(bulk: BulkUpsert, rows: int) -> Any:
        merged.append(rows)
        return original(bulk, rows)

    monkeypatch.setattr(batch_module, "merged_sql", spy)
    await asyncio.gather(*(engine.submit_bulk(ITEM_UPSERT, (f"m{i}", "v")) for i in range(20)))
    assert merged == [20]


async def test_a_bad_row_in_a_merged_bulk_insert_fails_alone(
        engine: PostgresEngine, direct: Any) -> None:
    rows = [("a", "ok"), ("b", "bad"), ("c", "ok")]
    results = await asyncio.gather(*(engine.submit_bulk(ITEM_UPSERT, r) for r in rows),
                                   return_exceptions=True)
    assert isinstance(results[1], IntegrityViolation) and results[1].kind == "check"
    on_disk = await ids_by_key(direct)
    assert set(on_disk) == {"a", "c"}
    assert [r.lastrowid for r in (results[0], results[2])] == [on_disk["a"], on_disk["c"]]


async def test_a_cancelled_caller_still_has_its_write_committed(
        make_engine: MakeEngine, direct: Any) -> None:
    engine = await make_engine()
    slow = asyncio.ensure_future(
        engine.execute_write("INSERT INTO items (k) SELECT 'slow' FROM pg_sleep(0.3)"))
    await asyncio.sleep(0.05)
    impatient = asyncio.ensure_future(engine.execute_write(INSERT, ("cancelled",)))
    await asyncio.sleep(0.01)
    impatient.cancel()
    await slow
    await engine.execute_write(INSERT, ("next",))
    assert set(await ids_by_key(direct)) == {"slow", "cancelled", "next"}


async def test_a_failing_write_beside_merged_bulk_rows_fails_alone(
        engine: PostgresEngine, direct: Any) -> None:
    await direct.execute("INSERT INTO items (k) VALUES ('taken')")
    sizes: list[int] = []
    engine.add_batch_observer(lambda items, _seconds: sizes.append(items))
    results = await asyncio.gather(
        engine.submit_bulk(ITEM_UPSERT, ("b1", "v")),
        engine.submit_bulk(ITEM_UPSERT, ("b2", "v")),
        engine.execute_write(INSERT, ("taken",)),
        engine.submit_bulk(ITEM_UPSERT, ("b3", "v")),
        engine.execute_write(INSERT, ("plain",)),
        return_exceptions=True)
    assert sizes == [5]
    assert isinstance(results[2], IntegrityViolation)
    on_disk = await ids_by_key(direct)
    assert set(on_disk) == {"taken", "b1", "b2", "b3", "plain"}
    ok = [r for r in results if isinstance(r, WriteResult)]
    assert [r.lastrowid for r in ok] == [on_disk[k] for k in ("b1", "b2", "b3", "plain")]


async def test_close_commits_every_queued_write(make_engine: MakeEngine, direct: Any) -> None:
    engine = await make_engine(flush_interval=5.0, batch_size=1000)
    writes = [asyncio.ensure_future(engine.execute_write(INSERT, (f"q{i}",)))
              for i in range(30)]
    await asyncio.sleep(0)  # queued, not committed yet
    await engine.close()
    assert all(w.done() and w.exception() is None for w in writes)
    assert await direct.fetchval("SELECT count(*) FROM items") == 30


async def test_writes_after_close_are_refused(engine: PostgresEngine) -> None:
    await engine.close()
    await engine.close()  # idempotent
    assert engine.closed
    with pytest.raises(StorageClosedError):
        await engine.execute_write(INSERT, ("late",))
    with pytest.raises(StorageClosedError):
        await engine.execute_read("SELECT 1")


async def test_a_full_queue_makes_writers_wait_then_overloaded(
        make_engine: MakeEngine) -> None:
    engine = await make_engine(queue_max=2, enqueue_timeout=0.1)
    slow = asyncio.ensure_future(
        engine.execute_write("INSERT INTO items (k) SELECT 'slow' FROM pg_sleep(0.5)"))
    queued = asyncio.ensure_future(engine.execute_write(INSERT, ("second",)))
    await asyncio.sleep(0.05)
    with pytest.raises(StorageOverloaded):
        await engine.execute_write(INSERT, ("third",))
    await slow
    await queued


async def test_a_writer_busy_past_the_stall_timeout_is_reported(
        make_engine: MakeEngine) -> None:
    engine = await make_engine(writer_stall_timeout=0.2)
    assert engine.writer_problem() is None and engine.writable
    slow = asyncio.ensure_future(
        engine.execute_write("INSERT INTO items (k) SELECT 'slow' FROM pg_sleep(0.6)"))
    await asyncio.sleep(0.4)
    problem = engine.writer_problem()
    assert problem is not None and "wedged" in problem
    assert not engine.writable
    await slow
    assert engine.writer_problem() is None


async def test_probe_write_upserts_the_meta_row(engine: PostgresEngine, direct: Any) -> None:
    await engine.probe_write()
    await engine.probe_write()
    assert await direct.fetchval("SELECT count(*) FROM msglog_meta WHERE key = 'probe'") == 1
    assert await engine.flush_search_index() == 0


# -- errors ------------------------------------------------------------------------


async def test_statement_timeout_becomes_query_timeout(make_engine: MakeEngine) -> None:
    engine = await make_engine(query_timeout=0.2)
    started = time.perf_counter()
    with pytest.raises(QueryTimeout):
        await engine.execute_read("SELECT pg_sleep(3)")
    assert time.perf_counter() - started < 2
    assert await engine.execute_one("SELECT 1 AS one") == {"one": 1}


async def test_a_wrong_query_is_invalid_without_its_text_in_the_message(
        engine: PostgresEngine) -> None:
    sql = "SELECT nope FROM items WHERE k = ?"
    with pytest.raises(InvalidQuery) as caught:
        await engine.execute_read(sql, ("a",))
    assert "WHERE k" not in str(caught.value)
    assert getattr(caught.value, "query", None) == sql
    with pytest.raises(InvalidQuery):
        await engine.execute_write("INSERT INTO nowhere (k) VALUES (?)", ("a",))
    with pytest.raises(InvalidQuery, match="takes 1 parameters, 2 given"):
        await engine.execute_read("SELECT ?::text AS a", ("a", "b"))


# -- reads -------------------------------------------------------------------------


async def test_read_many_sees_one_snapshot(engine: PostgresEngine, direct: Any) -> None:
    count = "SELECT count(*) AS n FROM items"

    async def insert_meanwhile() -> float:
        await asyncio.sleep(0.15)
        await direct.execute("INSERT INTO items (k) VALUES ('meanwhile')")
        return time.perf_counter()

    inserted_at = asyncio.ensure_future(insert_meanwhile())
    first, _, second = await engine.read_many(
        [(count, ()), ("SELECT pg_sleep(0.5) AS slept", ()), (count, ())])
    assert await inserted_at < time.perf_counter()  # committed before the last statement
    assert first == second == [{"n": 0}]
    assert await engine.execute_one(count) == {"n": 1}


async def test_a_read_survives_its_connection_being_terminated(
        engine: PostgresEngine, direct: Any) -> None:
    read = asyncio.ensure_future(
        engine.execute_read("SELECT 42 AS answer FROM pg_sleep(0.5)"))
    await terminate_when_running(direct, "SELECT 42 AS answer FROM pg_sleep%")
    assert await read == [{"answer": 42}]
    assert engine.stats()["read_pool"]["retries"] == 1


async def test_a_write_whose_connection_drops_fails_and_the_next_one_commits(
        engine: PostgresEngine, direct: Any) -> None:
    write = asyncio.ensure_future(
        engine.execute_write("INSERT INTO items (k) SELECT 'lost' FROM pg_sleep(0.5)"))
    await terminate_when_running(direct, "INSERT INTO items (k) SELECT 'lost'%")
    with pytest.raises(StorageIOError, match="connection lost"):
        await write
    after = await engine.execute_write(INSERT, ("after",))
    assert (await ids_by_key(direct)) == {"after": after.lastrowid}
    writer = engine.stats()["writer"]
    assert writer["lost_batches"] == 1 and writer["reconnects"] == 1


async def test_a_writer_connection_terminated_while_idle_is_replaced(
        engine: PostgresEngine, direct: Any) -> None:
    pid = engine.stats()["writer"]["server_pid"]
    assert await direct.fetchval("SELECT pg_terminate_backend($1)", pid)
    await asyncio.sleep(0.2)  # the session's end reaches the engine
    result = await engine.execute_write(INSERT, ("after idle",))
    assert (await ids_by_key(direct)) == {"after idle": result.lastrowid}


async def test_stats_describe_writer_and_read_pool(engine: PostgresEngine) -> None:
    await engine.execute_write(INSERT, ("s",))
    await engine.execute_read("SELECT 1")
    stats = engine.stats()
    assert {"queue_depth", "queue_max", "batches", "rows", "avg_batch_size", "errors",
            "last_batch_size"} <= set(stats["writer"])
    assert stats["writer"]["batches"] >= 1 and stats["writer"]["rows"] >= 1
    assert {"size", "in_use", "idle", "waiting", "min", "max"} <= set(stats["read_pool"])
    assert stats["read_pool"]["max"] == 20 and stats["read_pool"]["size"] >= 2
