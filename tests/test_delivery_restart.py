"""A real server process killed with SIGKILL mid-way resumes its deliveries on restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.apihelp import message
from tests.fake_targets import FakeTargets
from tests.serverproc import ServerProcess, run_cli

TOKEN = "4242:restart-test-bot-token"
COUNT = 12


async def wait_until(check: Any, rounds: int = 3000) -> None:
    for _ in range(rounds):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


def once_each(texts: list[str]) -> list[str]:
    """The texts with repeats of the one before dropped (at-least-once: the one in flight
    when the process died may come twice)."""
    out: list[str] = []
    for text in texts:
        if not out or out[-1] != text:
            out.append(text)
    return out


async def test_deliveries_resume_after_sigkill_in_order(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    fake = FakeTargets(slow_s=0.1)
    fake.chooser = lambda: "slow"
    server: TestServer = await aiohttp_server(fake.app())
    db_path = tmp_path / "messages.db"
    added = run_cli(["routes", "add", "kook", "chan-1", "telegram", "-100"], db_path)
    assert added.returncode == 0, added.stderr
    env = {"MSGLOG_TELEGRAM_API_BASE": str(server.make_url("")).rstrip("/"),
           "MSGLOG_TELEGRAM_BOT_TOKEN": TOKEN}
    first = ServerProcess(db_path, env=env).start()
    try:
        async with aiohttp.ClientSession() as session:
            bodies = [message(n, status="received", target_platform="", target_channel="",
                              latency_ms=None, content=f"msg {n}") for n in range(COUNT)]
            async with session.post(f"{first.url}/api/messages", json=bodies) as resp:
                assert resp.status == 201
        await wait_until(lambda: len(fake.got["-100"]) >= 3)
    finally:
        first.kill()
    assert len(fake.got["-100"]) < COUNT
    second = ServerProcess(db_path, env=env).start()
    try:
        await wait_until(lambda: len(once_each(fake.got["-100"])) >= COUNT)
    finally:
        second.terminate()
    assert once_each(fake.got["-100"]) == [f"alice: msg {n}" for n in range(COUNT)]
    assert len(fake.got["-100"]) <= COUNT + 1
    assert TOKEN not in first.output + second.output
