"""Several msglog processes on one PostgreSQL: every row everywhere, jobs run once."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from apihelp import message
from fake_targets import FakeTargets
from serverproc import ServerProcess, run_cli

from storage import AsyncDatabase
from tests.pg_server import pg_server

SECRET = "tg-secret-1"
TG_HEADER = "X-Telegram-Bot-Api-Secret-Token"
BOT_TOKEN = "4242:instances-test-token"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


async def next_message(resp: Any) -> dict[str, Any]:
    """The data of the stream's next `message` event (within 10 s)."""
    async with asyncio.timeout(10):
        block: list[str] = []
        while True:
            line = (await resp.content.readline()).decode()
            assert line, "the stream ended"
            if line != "\n":
                block.append(line.rstrip("\n"))
                continue
            fields = dict(x.split(": ", 1) for x in block if ": " in x)
            block = []
            if fields.get("event") == "message":
                data: dict[str, Any] = json.loads(fields["data"])
                return data


async def subscribed(resp: Any) -> None:
    # The stream's first comment is written once it is subscribed.
    async with asyncio.timeout(10):
        await resp.content.readline()


def servers(url: str, tmp_path: Path, **env: str) -> tuple[ServerProcess, ServerProcess]:
    settings = {"MSGLOG_DATABASE_URL": url, "MSGLOG_WRITE_FLUSH_INTERVAL_MS": "5",
                "MSGLOG_SECRET_KEY": "7dxSgKwGj0Y2-m7cWc5hH0wXv1HRQY0dpQjZj3tQ4jE=", **env}
    # Each its own (unused) SQLite path: nothing may be shared through a file.
    return (ServerProcess(tmp_path / "a.db", env=settings),
            ServerProcess(tmp_path / "b.db", env=settings))


async def test_each_instance_streams_the_rows_written_through_the_other(
    pg_database: str, tmp_path: Path
) -> None:
    first, second = servers(pg_database, tmp_path)
    with first, second:
        async with aiohttp.ClientSession() as session:
            async with session.get(first.url + "/api/messages/stream") as tail_a, \
                    session.get(second.url + "/api/messages/stream") as tail_b:
                await subscribed(tail_a)
                await subscribed(tail_b)
                ids = []
                for server, name in ((first, "via-first"), (second, "via-second")):
                    async with session.post(server.url + "/api/messages",
                                            json=message(name)) as posted:
                        assert posted.status == 201, await posted.text()
                        ids += (await posted.json())["ids"]
                seen_a = {(await next_message(tail_a))["id"] for _ in ids}
                seen_b = {(await next_message(tail_b))["id"] for _ in ids}
                assert seen_a == seen_b == set(ids)
            for server in (first, second):
                async with session.get(server.url + "/api/messages") as listed:
                    rows = (await listed.json())["items"]
                assert {r["id"] for r in rows} == set(ids)


async def test_the_same_webhook_event_sent_to_both_instances_is_stored_once(
    pg_database: str, tmp_path: Path
) -> None:
    first, second = servers(pg_database, tmp_path, MSGLOG_TELEGRAM_SECRET_TOKEN=SECRET)
    update = {"update_id": 77, "message": {
        "message_id": 5, "date": 1700000000, "text": "once 一次",
        "chat": {"id": -1001234, "type": "supergroup", "title": "Ops"},
        "from": {"id": 11, "is_bot": False, "first_name": "Alice"}}}
    answers = []
    with first, second:
        async with aiohttp.ClientSession() as session:
            for server in (first, second, first):
                async with session.post(server.url + "/webhooks/telegram", json=update,
                                        headers={TG_HEADER: SECRET}) as resp:
                    assert resp.status == 200, await resp.text()
                    answers.append((await resp.json())["duplicate"])
            async with session.get(second.url + "/api/messages?q=一次") as listed:
                rows = (await listed.json())["items"]
    assert answers == [False, True, True]
    assert len(rows) == 1


async def test_deliveries_go_out_once_with_two_instances_running(
    pg_database: str, tmp_path: Path, aiohttp_server: Any
) -> None:
    fake = FakeTargets()
    target: TestServer = await aiohttp_server(fake.app())
    first, second = servers(
        pg_database, tmp_path,
        MSGLOG_TELEGRAM_API_BASE=str(target.make_url("")).rstrip("/"),
        MSGLOG_TELEGRAM_BOT_TOKEN=BOT_TOKEN)
    added = run_cli(["routes", "add", "kook", "chan-1", "telegram", "-100"], tmp_path / "x.db",
                    MSGLOG_DATABASE_URL=pg_database)
    assert added.returncode == 0, added.stderr
    count = 10
    with first, second:
        async with aiohttp.ClientSession() as session:
            for n in range(count):
                server = (first, second)[n % 2]
                body = message(n, status="received", target_platform="", target_channel="",
                               latency_ms=None, content=f"msg {n}")
                async with session.post(server.url + "/api/messages", json=body) as resp:
                    assert resp.status == 201, await resp.text()
            async with asyncio.timeout(20):
                while len(fake.got["-100"]) < count:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)  # a second sender would have sent by now
    assert fake.got["-100"] == [f"alice: msg {n}" for n in range(count)]


async def test_a_job_is_led_by_one_instance_at_a_time(pg_database: str) -> None:
    async with AsyncDatabase(pg_database) as one, AsyncDatabase(pg_database) as other:
        lead = await one.try_lead("retention")
        assert lead is not None and not lead.lost
        assert await other.try_lead("retention") is None
        other_job = await other.try_lead("delivery")
        assert other_job is not None
        await lead.release()
        taken = await other.try_lead("retention")
        assert taken is not None
        await taken.release()
        await other_job.release()


def _pg_ctl(data: Path, *args: str) -> None:
    command = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", "-t", "30", *args]
    if os.getuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=60, cwd="/")


async def _readyz(session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
    async with session.get(url + "/readyz") as resp:
        return resp.status, await resp.json()


async def test_readyz_fails_while_the_database_is_down_and_recovers(tmp_path: Path) -> None:
    # A server of its own: this test stops and starts it.
    with pg_server() as pg:
        data = pg.socket_dir / "data"
        (server,) = servers(pg.url, tmp_path)[:1]
        with server:
            async with aiohttp.ClientSession() as session:
                assert (await _readyz(session, server.url))[0] == 200
                _pg_ctl(data, "-m", "fast", "stop")
                status, body = await _readyz(session, server.url)
                assert status == 503
                assert body["status"] == "not_ready"
                async with session.post(server.url + "/api/messages",
                                        json=message("while-down")) as refused:
                    assert refused.status == 503
                _pg_ctl(data, "-l", str(pg.socket_dir / "server.log"), "start")
                async with asyncio.timeout(30):
                    while (await _readyz(session, server.url))[0] != 200:
                        await asyncio.sleep(0.2)
                async with session.post(server.url + "/api/messages",
                                        json=message("after")) as posted:
                    assert posted.status == 201, await posted.text()
