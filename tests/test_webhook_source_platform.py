"""Received rows carry their source platform: webhooks set it, the JSON API takes or derives it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.settings import Settings
from tests.apihelp import message, post

pytestmark = pytest.mark.engines("sqlite", "postgres")

Client = TestClient[Any, Any]
VERIFY = "kook-verify"
SECRET = "tg-secret"


async def source_of(client: Client, message_id: str) -> Any:
    row = await client.app[keys.DB].execute_one(
        "SELECT source_platform FROM message_logs WHERE kook_message_id = ? "
        "AND target_platform = ''", (message_id,),
    )
    assert row is not None
    return row["source_platform"]


async def hooks(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Client:
    settings = make_settings(kook_verify_token=VERIFY, telegram_secret_token=SECRET)
    result: Client = await aiohttp_client(create_app(settings))
    return result


async def test_kook_webhook_rows_say_kook(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await hooks(aiohttp_client, make_settings)
    event = {"s": 0, "sn": 1, "d": {"type": 1, "verify_token": VERIFY, "target_id": "c1",
                                     "msg_id": "k-1", "content": "hi"}}
    resp = await client.post("/webhooks/kook?compress=0", data=json.dumps(event))
    assert resp.status == 200, await resp.text()
    assert await source_of(client, "k-1") == "kook"


async def test_telegram_webhook_rows_say_telegram(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await hooks(aiohttp_client, make_settings)
    update = {"update_id": 9, "message": {"message_id": 3, "chat": {"id": -5}, "text": "x"}}
    resp = await client.post("/webhooks/telegram", json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert resp.status == 200, await resp.text()
    assert await source_of(client, "tg:-5:3") == "telegram"


async def test_api_received_row_takes_the_given_source(client: Client) -> None:
    await post(client, message(1, status="received", target_platform="", target_channel="",
                               source_platform="telegram"))
    assert await source_of(client, "m-1") == "telegram"


async def test_api_received_row_without_one_is_derived_like_the_trigger(
    client: Client,
) -> None:
    await post(client, [
        message(2, status="received", target_platform="", target_channel=""),
        message("x", kook_message_id="tg:-7:1", status="received", target_platform="",
                target_channel=""),
    ])
    assert await source_of(client, "m-2") == "kook"
    assert await source_of(client, "tg:-7:1") == "telegram"


async def test_older_runtime_call_still_derives_it(client: Client) -> None:
    db = client.app[keys.DB]
    await db.add_message_log_async("old-1", "c9", "hi", "text", "bob", "", "", "received")
    assert await source_of(client, "old-1") == "kook"


async def test_source_platform_that_is_no_name_is_a_422(client: Client) -> None:
    resp = await client.post("/api/messages", json=message(3, source_platform="KOOK!"))
    assert resp.status == 422
    body = await resp.json()
    assert body["error"]["details"][0]["field"] == "source_platform"


async def test_source_platform_is_in_the_openapi_message(client: Client) -> None:
    doc = await (await client.get("/openapi.json")).json()
    prop = doc["components"]["schemas"]["MessageIn"]["properties"]["source_platform"]
    assert "derived" in prop["description"]
