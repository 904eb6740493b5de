"""Readiness tells the truth: a stopped or wedged writer fails /readyz, /healthz stays up."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from storage import AsyncDatabase, WriterStopped
from storage.sqlite.checkpoint import WalKeeper
from tests.apihelp import message
from tests.storehelp import log


def break_writer_after_next_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    def bug(self: WalKeeper, writer: sqlite3.Connection, may_pause: bool = True) -> bool:
        raise RuntimeError("a bug after the commit")

    monkeypatch.setattr(WalKeeper, "after_commit", bug)



async def wait_stopped(db: AsyncDatabase) -> None:
    async with asyncio.timeout(10):
        while db.stats()["writer"]["stopped"] is None:
            await asyncio.sleep(0.01)


async def test_writes_after_the_writer_stopped_raise_writer_stopped(
    db: AsyncDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    break_writer_after_next_commit(monkeypatch)
    await log(db, "last")  # committed and acknowledged before the bug hits
    await wait_stopped(db)
    with pytest.raises(WriterStopped, match="a bug after the commit"):
        await log(db, "refused")
    assert not db.writable


async def test_stopped_writer_fails_readiness_but_not_liveness(
    client: TestClient[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    break_writer_after_next_commit(monkeypatch)
    assert (await client.post("/api/messages", json=message(1))).status == 201
    await wait_stopped(client.app[keys.DB])
    refused = await client.post("/api/messages", json=message(2))
    assert refused.status == 503
    assert (await refused.json())["error"]["code"] == "storage_unavailable"
    ready = await client.get("/readyz")
    assert ready.status == 503
    assert any("writer stopped" in p for p in (await ready.json())["problems"])
    assert (await client.get("/healthz")).status == 200
    metrics = await (await client.get("/metrics")).text()
    assert "msglog_writer_up 0.0" in metrics


async def test_wedged_writer_is_reported_once_and_recovers(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="msglog.storage")
    async with AsyncDatabase(db_path, writer_stall_timeout=0.3) as db:
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # holds the write lock: no batch can commit
        try:
            write = asyncio.create_task(log(db, "stuck"))
            await asyncio.sleep(0.6)
            assert "writer wedged" in (db.writer_problem() or "")
            assert not db.writable
            assert "writer wedged" in (db.writer_problem() or "")
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert await asyncio.wait_for(write, 30) > 0
        assert db.writer_problem() is None
        assert db.writable
    wedged = [r for r in caplog.records if "writer wedged" in r.getMessage()]
    assert len(wedged) == 1
    assert wedged[0].levelno == logging.ERROR
