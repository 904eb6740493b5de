"""A full disk: writes refused with a clear error, reads go on, recovery without restart."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import aiohttp
import pytest
from loadgen import Ledger, integrity, message, stored_rows
from serverproc import ServerProcess

pytestmark = pytest.mark.slow

BEFORE = 50


def set_limit(server: ServerProcess, limit_file: Path, limit: str, generation: int) -> None:
    """Change the server's file-size limit and wait until it took effect."""
    limit_file.write_text(limit)
    server.send(signal.SIGUSR1)
    server.wait_for_output(f"fsize-limit #{generation}: {limit}")


async def test_full_disk_refuses_writes_keeps_reads_and_recovers_without_restart(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "full.db"
    limit_file = tmp_path / "fsize-limit"
    limit_file.write_text("unlimited")
    ledger = Ledger()
    server = ServerProcess(
        db_path,
        script=("tests/fsize_server.py",),
        env={"FSIZE_LIMIT_FILE": str(limit_file), "MSGLOG_LOG_LEVEL": "INFO"},
    )
    with server:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(
                *(ledger.post(session, server.url, f"before-{n}") for n in range(BEFORE))
            )
            assert len(ledger.acked) == BEFORE

            # The disk is full: no file may grow any more.
            set_limit(server, limit_file, "0", 2)
            async with session.post(server.url + "/api/messages", json=message("full")) as resp:
                body = await resp.json()
                assert resp.status in (503, 507), body
                assert body["error"]["code"] in ("insufficient_storage", "storage_unavailable")
                assert "cannot take writes" in body["error"]["message"]
            async with session.get(server.url + "/readyz") as resp:
                assert resp.status == 503
                ready = await resp.json()
                assert ready["status"] == "not_ready"
                assert any("not writable" in p for p in ready["problems"])
            async with session.get(server.url + "/api/messages", params={"limit": 500}) as resp:
                assert resp.status == 200
                listed = {item["kook_message_id"] for item in (await resp.json())["items"]}
                assert listed == set(ledger.acked)

            # Space comes back: the same process takes writes again.
            set_limit(server, limit_file, "unlimited", 3)
            async with session.get(server.url + "/readyz") as resp:
                assert resp.status == 200, await resp.text()
            assert await ledger.post(session, server.url, "after")
            assert "after" in ledger.acked
            assert server.running


    assert ledger.refused == []
    stored = stored_rows(db_path)
    assert {k: stored.get(k) for k in ledger.acked} == ledger.acked
    assert "full" not in stored
    assert integrity(db_path) == "ok"
