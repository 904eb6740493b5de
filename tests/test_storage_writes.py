"""The batched writer through the public AsyncDatabase API."""

from __future__ import annotations

import asyncio
import resource
import signal
from pathlib import Path

import pytest

from storage import (
    AsyncDatabase,
    IntegrityViolation,
    StorageClosedError,
    StorageIOError,
    StorageOverloaded,
)
from tests.enginehelp import hold_writes

pytestmark = pytest.mark.engines("sqlite", "postgres")


async def log(db: AsyncDatabase, n: int | str, **kw: object) -> int:
    fields: dict[str, object] = {
        "kook_message_id": f"m{n}",
        "kook_channel_id": "chan",
        "content": f"content {n}",
        "message_type": "text",
        "sender_name": "alice",
        "target_platform": "telegram",
        "target_channel": "tg-1",
        "status": "success",
    }
    fields.update(kw)
    return await db.add_message_log_async(**fields)  # type: ignore[arg-type]


async def count(db: AsyncDatabase, table: str = "message_logs") -> int:
    row = await db.execute_one(f"SELECT count(*) AS n FROM {table}")
    assert row is not None
    return int(row["n"])


async def test_lone_write_commits_within_the_flush_interval(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, flush_interval=0.05) as db:
        for n in range(5):
            # The older batcher waited for a tenth write: this would time out.
            await asyncio.wait_for(log(db, n), timeout=2)
        assert await count(db) == 5


async def test_lone_write_commits_at_once_with_zero_flush_interval(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, flush_interval=0) as db:
        for n in range(5):
            await asyncio.wait_for(log(db, n), timeout=1)
        assert db.stats()["writer"]["batches"] == 5


async def test_concurrent_inserts_each_get_their_own_row_id(db: AsyncDatabase) -> None:
    ids = await asyncio.gather(*(log(db, n) for n in range(1000)))
    assert len(set(ids)) == 1000
    rows = await db.execute_read("SELECT id, kook_message_id FROM message_logs")
    by_id = {r["id"]: r["kook_message_id"] for r in rows}
    assert all(by_id[row_id] == f"m{n}" for n, row_id in enumerate(ids))
    assert db.stats()["writer"]["avg_batch_size"] > 1


async def test_execute_write_returns_its_own_lastrowid_under_concurrency(
    db: AsyncDatabase, engine: str
) -> None:
    # PostgreSQL gives an insert's id when the statement says RETURNING id.
    sql = "INSERT INTO accounts (email) VALUES (?)"
    if engine == "postgres":
        sql += " RETURNING id"
    results = await asyncio.gather(*(db.execute_write(sql, (f"u{n}@x.io",)) for n in range(200)))
    rows = await db.execute_read("SELECT id, email FROM accounts")
    by_id = {r["id"]: r["email"] for r in rows}
    assert [by_id[r.lastrowid] for r in results] == [f"u{n}@x.io" for n in range(200)]


async def test_relogging_the_same_target_updates_one_row(db: AsyncDatabase) -> None:
    first = await log(db, 1, status="failed", error_message="timeout", latency_ms=900)
    second = await log(db, 1, status="success", latency_ms=120)
    assert first == second
    rows = await db.execute_read("SELECT * FROM message_logs")
    assert len(rows) == 1
    assert rows[0]["status"] == "success"
    assert rows[0]["error_message"] is None
    assert rows[0]["latency_ms"] == 120
    assert rows[0]["attempts"] == 2


async def test_batch_of_new_and_existing_keys_gives_each_caller_its_row(
    db_target: str | Path,
) -> None:
    async with AsyncDatabase(db_target, batch_size=20, flush_interval=1.0) as db:
        old = await asyncio.gather(*(log(db, n) for n in range(0, 20, 2)))
        # One batch: ten new keys interleaved with ten re-logs of existing ones.
        mixed = await asyncio.gather(*(log(db, n, status="failed") for n in range(20)))
        assert mixed[0::2] == old
        rows = await db.execute_read("SELECT id, kook_message_id, attempts FROM message_logs")
        by_id = {r["id"]: (r["kook_message_id"], r["attempts"]) for r in rows}
        assert len(rows) == 20
        for n, row_id in enumerate(mixed):
            assert by_id[row_id] == (f"m{n}", 2 if n % 2 == 0 else 1)


async def test_same_key_twice_in_one_batch_is_one_row_logged_twice(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, batch_size=3, flush_interval=1.0) as db:
        ids = await asyncio.gather(
            log(db, 1, status="failed"), log(db, 2), log(db, 1, status="success")
        )
        assert ids[0] == ids[2] != ids[1]
        row = await db.execute_one(
            "SELECT status, attempts FROM message_logs WHERE id = ?", (ids[0],)
        )
        assert row == {"status": "success", "attempts": 2}


async def test_same_message_to_another_target_is_another_row(db: AsyncDatabase) -> None:
    a = await log(db, 1, target_platform="telegram")
    b = await log(db, 1, target_platform="discord")
    assert a != b


async def test_one_bad_item_fails_alone_and_nine_commit(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, batch_size=10, flush_interval=1.0) as db:
        writes = [log(db, n) for n in range(9)]
        writes.insert(4, log(db, "bad", kook_channel_id=None))  # NOT NULL violated
        results = await asyncio.gather(*writes, return_exceptions=True)
        failures = [r for r in results if isinstance(r, Exception)]
        assert len(failures) == 1 and isinstance(failures[0], IntegrityViolation)
        assert isinstance(results[4], IntegrityViolation)
        assert await count(db) == 9
        assert db.stats()["writer"]["batches"] == 1


async def test_generic_constraint_violation_raises_integrity_violation(
    db: AsyncDatabase,
) -> None:
    await db.execute_write("INSERT INTO accounts (email) VALUES ('a@x.io')")
    with pytest.raises(IntegrityViolation):
        await db.execute_write("INSERT INTO accounts (email) VALUES ('a@x.io')")


async def test_close_commits_every_queued_write(db_target: str | Path) -> None:
    db = AsyncDatabase(db_target, flush_interval=0.5)
    await db.init()
    tasks = [asyncio.create_task(log(db, n)) for n in range(3000)]
    await asyncio.sleep(0)  # all enqueued, none committed yet
    await db.close()
    ids = await asyncio.gather(*tasks)
    assert len(set(ids)) == 3000
    async with AsyncDatabase(db_target) as reopened:
        assert await count(reopened) == 3000


async def test_writes_after_close_raise_and_close_is_idempotent(db_target: str | Path) -> None:
    db = AsyncDatabase(db_target)
    await db.init()
    await db.close()
    await db.close()
    with pytest.raises(StorageClosedError):
        await log(db, 1)


async def test_cancelled_caller_still_gets_its_write_committed(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target) as db:
        async with hold_writes(db_target):  # the write waits in the writer for the lock
            task = asyncio.create_task(log(db, "cancelled"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        await log(db, "after")
        rows = await db.execute_read("SELECT kook_message_id FROM message_logs ORDER BY id")
        assert [r["kook_message_id"] for r in rows] == ["mcancelled", "mafter"]


async def test_full_queue_makes_writers_wait_then_overload(db_target: str | Path) -> None:
    async with AsyncDatabase(db_target, queue_max=20, enqueue_timeout=0.3) as db:
        await log(db, "warmup")
        async with hold_writes(db_target):  # a foreign writer holds the lock
            tasks = [asyncio.create_task(log(db, n)) for n in range(100)]
            done, _ = await asyncio.wait(tasks, timeout=1.0)
            overloaded = [t for t in done if isinstance(t.exception(), StorageOverloaded)]
            assert overloaded, "writers past the queue bound must be refused"
        results = await asyncio.gather(*tasks, return_exceptions=True)
        accepted = [r for r in results if isinstance(r, int)]
        assert all(isinstance(r, int | StorageOverloaded) for r in results)
        assert len(accepted) >= 20
        # Everything that was accepted is stored; nothing else is.
        assert await count(db) == len(accepted) + 1


@pytest.fixture
def file_size_limit() -> object:
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def limit(size: int) -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))

    yield limit
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    signal.signal(signal.SIGXFSZ, previous)


# A file size limit on the SQLite file and its WAL makes the I/O error.
@pytest.mark.engines("sqlite")
async def test_io_failure_fails_its_batch_and_the_writer_recovers(
    db_path: Path, file_size_limit: object
) -> None:
    async with AsyncDatabase(db_path, flush_interval=0) as db:
        kept = await log(db, "before")
        wal = Path(f"{db_path}-wal")
        file_size_limit(max(wal.stat().st_size, db_path.stat().st_size) + 64 * 1024)  # type: ignore[operator]
        big = "x" * 200_000
        with pytest.raises(StorageIOError):
            await log(db, "too-big", content=big)
        assert not db.writable
        file_size_limit(resource.RLIM_INFINITY)  # type: ignore[operator]
        after = await log(db, "after", content=big)
        assert db.writable
        rows = await db.execute_read("SELECT id FROM message_logs ORDER BY id")
        assert [r["id"] for r in rows] == [kept, after]


# Breaks the SQLite writer thread's loop.
@pytest.mark.engines("sqlite")
async def test_a_writer_bug_fails_callers_instead_of_hanging(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage import StorageError
    from storage.sqlite.writer import Writer

    real = Writer._next_work
    calls = 0

    def breaks_on_second_call(self: Writer) -> object:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("simulated bug in the writer thread")
        return real(self)

    monkeypatch.setattr(Writer, "_next_work", breaks_on_second_call)
    async with AsyncDatabase(db_path, flush_interval=0) as db:
        assert await log(db, "before") > 0
        with pytest.raises(StorageError):
            await asyncio.wait_for(log(db, "after"), timeout=5)
