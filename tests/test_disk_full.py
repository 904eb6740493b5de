"""A full disk: writes refused with a clear error, reads go on, recovery without restart."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import subprocess
from collections.abc import Iterator
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


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MB file system (tmpfs), so the disk really fills up (ENOSPC)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; the full-disk test did not run")
    mount_point = tmp_path / "small-fs"
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"could not mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill_up(path: Path) -> None:
    """Take every byte the file system has left."""
    chunk = b"\0" * 65536
    with path.open("wb") as f:
        try:
            while True:
                f.write(chunk)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


async def test_really_full_disk_answers_507_keeps_reads_and_recovers(small_fs: Path) -> None:
    db_path = small_fs / "full.db"
    filler = small_fs / "filler"
    ledger = Ledger()
    with ServerProcess(db_path) as server:
        async with aiohttp.ClientSession() as session:
            for n in range(BEFORE):
                await ledger.post(session, server.url, f"before-{n}")
            assert len(ledger.acked) == BEFORE
            fill_up(filler)
            refusal = None
            for n in range(2000):  # the WAL's last free pages fill first
                async with session.post(server.url + "/api/messages",
                                        json=message(f"full-{n}", "x" * 4000)) as resp:
                    if resp.status != 201:
                        refusal = (resp.status, dict(resp.headers), await resp.json())
                        break
                    ledger.acked[f"full-{n}"] = (await resp.json())["ids"][0]
            assert refusal is not None, "the disk never filled up"
            status, headers, body = refusal
            assert status == 507, body
            assert body["error"]["code"] == "insufficient_storage"
            assert "Retry-After" in headers
            async with session.get(server.url + "/readyz") as resp:
                assert resp.status == 503
            async with session.get(server.url + "/api/messages", params={"limit": 10}) as resp:
                assert resp.status == 200

            filler.unlink()  # space comes back: the same process takes writes again
            async with session.get(server.url + "/readyz") as resp:
                assert resp.status == 200, await resp.text()
            assert await ledger.post(session, server.url, "after")
            assert "after" in ledger.acked
    stored = stored_rows(db_path)
    assert {k: stored.get(k) for k in ledger.acked} == ledger.acked
    assert integrity(db_path) == "ok"
