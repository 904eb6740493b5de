"""The live tail follows the database's change log: every writer, every reconnect, filters."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from apihelp import error_of, message, post
from legacy import make_legacy_db
from serverproc import REPO, ServerProcess, run_cli

from bot import keys
from bot.live import CLIENT_BUFFER
from tests.enginehelp import engine_env

pytestmark = pytest.mark.engines("sqlite", "postgres")

Event = tuple[int, dict[str, Any]]


async def next_block(resp: Any) -> list[str]:
    """The next server-sent event's lines (an empty list: the stream ended)."""
    block: list[str] = []
    while True:
        line = (await resp.content.readline()).decode()
        if line == "":
            return block
        if line == "\n":
            if block and not all(x.startswith((":", "retry:")) for x in block):
                return block
            block = []
            continue
        block.append(line.rstrip("\n"))


async def next_event(resp: Any) -> tuple[str, int | None, Any]:
    """(event name, id, data) of the next event, within a deadline."""
    async with asyncio.timeout(10):
        block = await next_block(resp)
    fields = dict(line.split(": ", 1) for line in block)
    seq = int(fields["id"]) if "id" in fields else None
    return fields.get("event", ""), seq, json.loads(fields.get("data", "null"))


async def messages(resp: Any, count: int) -> list[Event]:
    got: list[Event] = []
    while len(got) < count:
        name, seq, data = await next_event(resp)
        assert name == "message", (name, data)
        assert seq is not None
        got.append((seq, data))
    return got


async def open_stream(client: Any, path: str = "/api/messages/stream", **kw: Any) -> Any:
    resp = await client.get(path, **kw)
    assert resp.status == 200, await resp.text()
    return resp


async def until_subscribed(client: Any, count: int = 1) -> None:
    async with asyncio.timeout(10):
        while client.app[keys.HUB].subscribers < count:
            await asyncio.sleep(0.01)


async def test_an_updated_row_comes_again_under_a_higher_event_id(client: Any) -> None:
    resp = await open_stream(client)
    await until_subscribed(client)
    [row_id] = await post(client, message("u", status="pending"))
    [(first_seq, first)] = await messages(resp, 1)
    await client.patch(f"/api/messages/{row_id}", json={"status": "success"})
    [(second_seq, second)] = await messages(resp, 1)
    assert first["id"] == second["id"] == row_id
    assert (first["status"], second["status"]) == ("pending", "success")
    assert second_seq > first_seq
    resp.close()


async def test_after_id_query_replays_what_came_after_that_event(client: Any) -> None:
    resp = await open_stream(client)
    await until_subscribed(client)
    await post(client, message("before"))
    [(seen, _)] = await messages(resp, 1)
    resp.close()
    missed = await post(client, [message("after-1"), message("after-2")])
    resp = await open_stream(client, params={"after_id": str(seen)})
    replayed = await messages(resp, 2)
    assert [row["id"] for _, row in replayed] == missed
    assert all(seq > seen for seq, _ in replayed)
    resp.close()


async def test_a_reconnect_further_behind_than_the_buffer_gets_overflow(client: Any) -> None:
    resp = await open_stream(client)
    await until_subscribed(client)
    await post(client, message("first"))
    [(seen, _)] = await messages(resp, 1)
    resp.close()
    await post(client, [message(f"later-{n}") for n in range(CLIENT_BUFFER + 1)])
    resp = await open_stream(client, headers={"Last-Event-ID": str(seen)})
    name, _, _ = await next_event(resp)
    assert name == "overflow"
    resp.close()


async def test_stream_sends_only_rows_of_the_status_asked_for(client: Any) -> None:
    resp = await open_stream(client, params={"status": "failed"})
    await until_subscribed(client)
    await post(client, message("ok", status="success"))
    [failed_id] = await post(client, message("bad", status="failed", error_message="timeout"))
    [(_, row)] = await messages(resp, 1)
    assert (row["id"], row["status"]) == (failed_id, "failed")
    resp.close()


async def test_stream_filters_by_search_terms_and_platform_in_any_case(client: Any) -> None:
    resp = await open_stream(client, params={"q": "GATEWAY timeout", "platform": "Discord"})
    await until_subscribed(client)
    await post(client, [
        message("other-platform", target_platform="telegram", error_message="gateway timeout"),
        message("one-term", target_platform="discord", error_message="gateway closed"),
    ])
    [wanted] = await post(client, message(
        "both", target_platform="DISCORD", status="failed", error_message="Gateway Timeout"
    ))
    [(_, row)] = await messages(resp, 1)
    assert (row["id"], row["target_platform"]) == (wanted, "discord")
    resp.close()


async def test_stream_refuses_an_unknown_query_parameter(client: Any) -> None:
    err = await error_of(await client.get("/api/messages/stream?colour=red"), 422)
    assert err["details"][0]["field"] == "colour"


async def test_rows_written_by_another_process_reach_the_stream(
    client: Any, db_target: str | Path
) -> None:
    resp = await open_stream(client)
    await until_subscribed(client)
    writer = textwrap.dedent(f"""
        import asyncio
        from storage import AsyncDatabase
        async def main():
            async with AsyncDatabase({str(db_target)!r}) as db:
                await db.add_message_log_async(
                    "elsewhere", "c", "written by another process", "text", "bob",
                    "telegram", "t", "success")
        asyncio.run(main())
    """)
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-c", writer], cwd=REPO, capture_output=True,
        text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    [(_, row)] = await messages(resp, 1)
    assert row["content"] == "written by another process"
    resp.close()


async def test_rows_imported_from_the_command_line_reach_the_stream(
    client: Any, tmp_path: Path
) -> None:
    source = tmp_path / "old.db"
    make_legacy_db(source, logs=5)
    resp = await open_stream(client)
    await until_subscribed(client)
    settings = client.app[keys.SETTINGS]
    done = await asyncio.to_thread(
        run_cli, ["import", str(source)], settings.db_path, **engine_env(settings)
    )
    assert done.returncode == 0, done.stderr
    rows = [row for _, row in await messages(resp, 5)]
    assert len({row["kook_message_id"] for row in rows}) == 5
    resp.close()


# Two processes on one SQLite file (on PostgreSQL: tests/test_pg_instances.py).
@pytest.mark.engines("sqlite")
async def test_a_second_msglog_on_the_same_file_feeds_the_first_ones_stream(
    tmp_path: Path,
) -> None:
    db_path = tmp_path / "shared.db"
    env = {"MSGLOG_WRITE_FLUSH_INTERVAL_MS": "5"}
    with ServerProcess(db_path, env=env) as first, ServerProcess(db_path, env=env) as second:
        async with aiohttp.ClientSession() as session:
            async with session.get(first.url + "/api/messages/stream") as resp:
                assert resp.status == 200
                # The stream's first comment is written once it is subscribed.
                async with asyncio.timeout(10):
                    await resp.content.readline()
                async with session.post(
                    second.url + "/api/messages", json=message("via-second")
                ) as posted:
                    assert posted.status == 201
                    [row_id] = (await posted.json())["ids"]
                [(_, row)] = await messages(resp, 1)
                assert row["id"] == row_id
