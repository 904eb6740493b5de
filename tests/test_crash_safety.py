"""A real server process killed mid-load keeps every write it acknowledged."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest
from loadgen import Ledger, integrity, produce_until_stopped, stored_rows
from serverproc import ServerProcess

PRODUCERS = 32
ACKED_BEFORE_SIGNAL = 400
TIMEOUT = aiohttp.ClientTimeout(total=60)

pytestmark = pytest.mark.slow


async def until(condition: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)


async def load_then(
    server: ServerProcess, act: Callable[[], object], ledger: Ledger
) -> set[str]:
    """Run producers until enough writes are acknowledged, `act`, then let them run out."""
    stop = asyncio.Event()
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        workers = [
            asyncio.create_task(produce_until_stopped(session, server.url, ledger, w, stop))
            for w in range(PRODUCERS)
        ]
        await until(lambda: len(ledger.acked) >= ACKED_BEFORE_SIGNAL, "writes acknowledged")
        in_flight = set(ledger.in_flight)
        await asyncio.to_thread(act)
        stop.set()
        await asyncio.gather(*workers)
    return in_flight


async def present_over_http(url: str, acked: dict[str, int]) -> list[str]:
    """The acknowledged writes the server cannot show, by id and kook_message_id."""
    missing: list[str] = []
    limit = asyncio.Semaphore(16)

    async def check(kmid: str, row_id: int) -> None:
        async with limit, session.get(f"{url}/api/messages/{row_id}") as resp:
            body = await resp.json()
            if resp.status != 200 or body["kook_message_id"] != kmid:
                missing.append(kmid)

    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        await asyncio.gather(*(check(k, i) for k, i in acked.items()))
    return missing


async def test_sigkill_mid_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    ledger = Ledger()
    with ServerProcess(db_path) as server:
        in_flight = await load_then(server, server.kill, ledger)
    assert in_flight, "the kill must land while requests are in flight"
    assert ledger.connection_errors > 0

    with ServerProcess(db_path) as restarted:
        assert await present_over_http(restarted.url, ledger.acked) == []
    stored = stored_rows(db_path)
    assert {k: stored.get(k) for k in ledger.acked} == ledger.acked
    assert integrity(db_path) == "ok"


async def test_sigterm_mid_load_drains_and_exits_cleanly(tmp_path: Path) -> None:
    db_path = tmp_path / "drain.db"
    ledger = Ledger()
    server = ServerProcess(db_path).start()
    try:
        in_flight = await load_then(
            server, lambda: (server.send(signal.SIGTERM), server.proc.wait(60)), ledger
        )
    finally:
        server.close()
    assert in_flight, "the signal must land while requests are in flight"
    assert server.proc is not None and server.proc.returncode == 0, server.output

    # In flight at SIGTERM: 201 (then stored), 503 or a dropped connection, nothing else.
    for status, headers, body in ledger.refused:
        assert status == 503, (status, body)
        assert body["error"]["code"] in {"shutting_down", "overloaded"}
        assert "Retry-After" in headers
    stored = stored_rows(db_path)
    assert {k: stored.get(k) for k in ledger.acked} == ledger.acked
    assert integrity(db_path) == "ok"
    # The drain ended with a checkpoint: nothing was left for the next start to replay.
    wal = Path(f"{db_path}-wal")
    assert not wal.exists() or wal.stat().st_size == 0
