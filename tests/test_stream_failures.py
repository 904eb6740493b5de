"""A stream that breaks, breaks visibly: a cut export, an error event, a replayed tail."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest
from apihelp import message, post

from bot import keys
from storage import QueryTimeout, StorageIOError, message_logs


async def read_block(resp: Any) -> list[str]:
    """The next server-sent event, as its lines (comments included)."""
    block: list[str] = []
    while True:
        line = (await resp.content.readline()).decode()
        if line == "":
            return block
        if line == "\n":
            if block:
                return block
            continue
        block.append(line.rstrip("\n"))


async def events_until(resp: Any, wanted: str) -> list[list[str]]:
    seen: list[list[str]] = []
    async with asyncio.timeout(10):
        while True:
            block = await read_block(resp)
            seen.append(block)
            if not block or any(line == f"event: {wanted}" for line in block):
                return seen


async def subscribed(client: Any) -> Any:
    resp = await client.get("/api/messages/stream")
    assert resp.status == 200
    async with asyncio.timeout(10):
        while client.app[keys.HUB].subscribers == 0:
            await asyncio.sleep(0.01)
    return resp


async def test_export_cut_by_a_failed_read_is_a_truncated_transfer(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for chunk in range(3):
        await post(client, [message(f"{chunk}-{n}") for n in range(1000)])
    pages = 0
    real_page = message_logs.page

    async def failing_second_page(*args: Any, **kwargs: Any) -> Any:
        nonlocal pages
        pages += 1
        if pages == 2:
            raise QueryTimeout("read interrupted after 5s")
        return await real_page(*args, **kwargs)

    monkeypatch.setattr(message_logs, "page", failing_second_page)
    resp = await client.get("/api/messages/export", params={"format": "ndjson"})
    assert resp.status == 200
    with pytest.raises(aiohttp.ClientPayloadError):
        await asyncio.wait_for(resp.read(), 10)


async def test_failed_tail_read_ends_the_stream_with_an_error_event(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    resp = await subscribed(client)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise StorageIOError("disk I/O error")

    monkeypatch.setattr(message_logs, "changes_after", broken)
    await post(client, message("lost-to-the-tail"))
    blocks = await events_until(resp, "error")
    assert ["event: error", "data: {}"] in blocks
    assert client.app[keys.HUB].subscribers == 0


async def test_reconnect_with_last_event_id_replays_what_was_missed(client: Any) -> None:
    resp = await subscribed(client)
    await post(client, message("seen"))
    [seen_event] = [b for b in await events_until(resp, "message") if "event: message" in b]
    resp.close()
    last_id = next(line[4:] for line in seen_event if line.startswith("id: "))
    missed = await post(client, [message("missed-1"), message("missed-2")])
    resp = await client.get("/api/messages/stream", headers={"Last-Event-ID": last_id})
    blocks = []
    async with asyncio.timeout(10):
        while len([b for b in blocks if "event: message" in b]) < 2:
            blocks.append(await read_block(resp))
    rows = [json.loads(line[6:]) for b in blocks for line in b if line.startswith("data: {\"")]
    assert [r["id"] for r in rows] == missed
    resp.close()
