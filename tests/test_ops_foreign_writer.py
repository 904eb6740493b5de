"""Other processes on the file: a held write lock delays writes; a corrupt file stops start."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import aiohttp
import pytest
from loadgen import Ledger, integrity, stored_rows
from serverproc import ServerProcess, run_cli

pytestmark = pytest.mark.slow

LOCK_HELD_S = 3.0
WRITES = 40


async def test_foreign_write_lock_delays_writes_but_loses_none(tmp_path: Path) -> None:
    db_path = tmp_path / "locked.db"
    ledger = Ledger()
    with ServerProcess(db_path) as server:
        async with aiohttp.ClientSession() as session:
            other = sqlite3.connect(db_path, isolation_level=None, timeout=10)
            try:
                other.execute("BEGIN IMMEDIATE")
                writes = [
                    asyncio.create_task(ledger.post(session, server.url, f"locked-{n}"))
                    for n in range(WRITES)
                ]
                await asyncio.sleep(LOCK_HELD_S)
                # Nothing can commit while the other process holds the lock...
                assert not any(w.done() for w in writes)
                # ...and reads are not held up by it.
                async with session.get(server.url + "/api/messages") as resp:
                    assert resp.status == 200
                other.execute("ROLLBACK")
            finally:
                other.close()
            await asyncio.gather(*writes)

    assert ledger.refused == [] and ledger.connection_errors == 0
    assert len(ledger.acked) == WRITES
    stored = stored_rows(db_path)
    assert {k: stored.get(k) for k in ledger.acked} == ledger.acked
    assert integrity(db_path) == "ok"


def damaged_schema_page(tmp_path: Path) -> Path:
    """A real msglog database whose first page (the schema) was overwritten."""
    path = tmp_path / "damaged.db"
    assert run_cli(["migrate"], path).returncode == 0
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    path.write_bytes(bytes(data))
    return path


def random_bytes(tmp_path: Path) -> Path:
    """A file that is not a database at all."""
    path = tmp_path / "garbage.db"
    path.write_bytes(bytes(range(256)) * 80)
    return path


@pytest.mark.parametrize("make_file", [random_bytes, damaged_schema_page])
def test_corrupt_database_stops_start_with_clear_error_and_is_left_untouched(
    tmp_path: Path, make_file: object
) -> None:
    assert callable(make_file)
    path: Path = make_file(tmp_path)
    before = path.read_bytes()
    siblings = set(tmp_path.iterdir())

    result = run_cli(["serve", "--port", "0"], path)

    assert result.returncode != 0
    [error] = [line for line in result.stderr.splitlines() if line.startswith("msglog:")]
    assert "cannot open the database" in error
    assert error.count(str(path)) == 1
    assert "not a database" in result.stderr or "malformed" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before
    assert set(tmp_path.iterdir()) == siblings
