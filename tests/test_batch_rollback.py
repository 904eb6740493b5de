"""A statement whose conflict clause ends the transaction fails alone; its batch commits."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from storage import AsyncDatabase, IntegrityViolation
from tests.apihelp import message
from tests.storehelp import log

HOUR = 3600.0



async def poison_message_logs(db: AsyncDatabase) -> None:
    await db.execute_write(
        "CREATE TRIGGER poison BEFORE INSERT ON message_logs WHEN NEW.content = 'poison' "
        "BEGIN SELECT RAISE(ROLLBACK, 'poisoned row'); END"
    )


async def test_insert_or_rollback_fails_alone_among_its_batch(db_path: Path) -> None:
    async with AsyncDatabase(db_path, batch_size=5, flush_interval=HOUR) as db:
        await db.execute_write("CREATE TABLE t (x INTEGER UNIQUE)")
        await db.execute_write("INSERT INTO t VALUES (1)")
        results = await asyncio.gather(
            db.execute_write("INSERT INTO t VALUES (2)"),
            db.execute_write("INSERT OR ROLLBACK INTO t VALUES (1)"),
            db.execute_write("INSERT INTO t VALUES (3)"),
            db.execute_write("INSERT INTO t VALUES (4)"),
            db.execute_write("INSERT INTO t VALUES (5)"),
            return_exceptions=True,
        )
        assert isinstance(results[1], IntegrityViolation)
        assert not any(isinstance(r, Exception) for i, r in enumerate(results) if i != 1)
        rows = await db.execute_read("SELECT x FROM t ORDER BY x")
        assert [r["x"] for r in rows] == [1, 2, 3, 4, 5]
        assert db.writable


async def test_rollback_trigger_in_a_multi_row_insert_fails_only_its_row(
    db_path: Path,
) -> None:
    async with AsyncDatabase(db_path, batch_size=10, flush_interval=HOUR) as db:
        await poison_message_logs(db)
        contents = ["fine"] * 4 + ["poison"] + ["fine"] * 5
        results = await asyncio.gather(
            *(log(db, f"m{i}", c) for i, c in enumerate(contents)), return_exceptions=True
        )
        assert isinstance(results[4], IntegrityViolation)
        ids = [r for i, r in enumerate(results) if i != 4]
        assert all(isinstance(r, int) for r in ids)
        rows = await db.execute_read("SELECT id FROM message_logs ORDER BY id")
        assert sorted(r["id"] for r in rows) == sorted(ids)
        assert db.writable


async def test_rollback_trigger_answers_409_and_storage_stays_writable(
    client: TestClient[Any, Any],
) -> None:
    await poison_message_logs(client.app[keys.DB])
    bad = await client.post("/api/messages", json=message(1) | {"content": "poison"})
    assert bad.status == 409
    assert (await bad.json())["error"]["code"] == "conflict"
    good = await client.post("/api/messages", json=message(2))
    assert good.status == 201
    ready = await client.get("/readyz")
    assert ready.status == 200


@pytest.mark.parametrize("clause", ["OR ROLLBACK", "OR ABORT", "OR FAIL"])
async def test_conflict_clause_never_reads_as_an_io_error(db: AsyncDatabase, clause: str) -> None:
    await db.execute_write("CREATE TABLE u (x INTEGER UNIQUE)")
    await db.execute_write("INSERT INTO u VALUES (1)")
    with pytest.raises(IntegrityViolation):
        await db.execute_write(f"INSERT {clause} INTO u VALUES (1)")
    assert db.writable
