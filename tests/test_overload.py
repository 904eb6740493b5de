"""A burst far beyond the write queue: 503 + Retry-After, bounded memory, no 201 lost.

How fast the writer drains the queue depends on the machine; so that the burst exceeds it
on any machine, the writer is also stalled at the start of the burst (another process holds
the write lock, as a stalling disk would) until the first wave has been refused.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from loadgen import Ledger, integrity, stored_rows
from serverproc import ServerProcess

REQUESTS = 10_000
CONNECTIONS = 500
QUEUE_MAX = 25
# A full queue is refused after this long: short, so the burst is answered quickly.
ENQUEUE_TIMEOUT_S = 0.05
# Measured about 80-110 MB; a server that buffered the burst would pass this by far.
PEAK_RSS_LIMIT_KB = 300 * 1024

pytestmark = pytest.mark.slow


async def until(condition: Callable[[], bool], limit_s: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit_s
    while not condition() and loop.time() < deadline:
        await asyncio.sleep(0.01)


async def burst(url: str, ledger: Ledger) -> None:
    """REQUESTS single-message POSTs over CONNECTIONS keep-alive connections at once."""
    numbers = iter(range(REQUESTS))
    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def connection() -> None:
            for n in numbers:
                await ledger.post(session, url, f"burst-{n}")

        await asyncio.gather(*(connection() for _ in range(CONNECTIONS)))


async def test_burst_beyond_queue_is_refused_with_503_and_loses_nothing_acknowledged(
    tmp_path: Path, record_property: Callable[[str, Any], None]
) -> None:
    db_path = tmp_path / "burst.db"
    ledger = Ledger()
    env = {
        "MSGLOG_WRITE_QUEUE_MAX": str(QUEUE_MAX),
        "MSGLOG_WRITE_ENQUEUE_TIMEOUT_S": str(ENQUEUE_TIMEOUT_S),
    }
    with ServerProcess(db_path, env=env) as server:
        stall = sqlite3.connect(db_path, isolation_level=None, timeout=10)
        try:
            stall.execute("BEGIN IMMEDIATE")
            running = asyncio.create_task(burst(server.url, ledger))
            await until(lambda: len(ledger.refused) >= CONNECTIONS or running.done())
            stall.execute("ROLLBACK")
        finally:
            stall.close()
        await running
        peak_kb = server.peak_rss_kb()
        assert server.running, server.output
        async with aiohttp.ClientSession() as session:
            async with session.get(server.url + "/readyz") as resp:
                assert resp.status == 200
            after = Ledger()
            assert await after.post(session, server.url, "after-the-burst")
            assert list(after.acked) == ["after-the-burst"]

    refused = [status for status, _, _ in ledger.refused]
    record_property("peak_rss_kb", peak_kb)
    print(
        f"\noverload: {REQUESTS} requests / {CONNECTIONS} connections, queue {QUEUE_MAX}: "
        f"{len(ledger.acked)} x 201, {len(refused)} x 503, peak RSS {peak_kb / 1024:.1f} MB"
    )
    assert ledger.connection_errors == 0
    assert len(ledger.acked) + len(refused) == REQUESTS
    assert len(refused) >= CONNECTIONS
    for status, headers, body in ledger.refused:
        assert status == 503
        assert body["error"]["code"] == "overloaded"
        assert int(headers["Retry-After"]) >= 1
    assert peak_kb < PEAK_RSS_LIMIT_KB
    stored = stored_rows(db_path)
    assert {k: stored.get(k) for k in ledger.acked} == ledger.acked
    assert integrity(db_path) == "ok"
