"""POST /webhooks/telegram: real Bot API updates through the HTTP app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from apihelp import error_of as assert_error
from apihelp import stored_rows as rows

from bot import keys
from bot.app import create_app
from bot.settings import Settings

pytestmark = pytest.mark.engines("sqlite", "postgres")

SECRET = "tg-Secret_token-1"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]

GROUP = {"id": -1001234, "type": "supergroup", "title": "Ops room"}
CHANNEL = {"id": -100777, "type": "channel", "title": "News channel"}
ALICE = {"id": 11, "is_bot": False, "first_name": "Alice", "last_name": "Liddell",
         "username": "alice"}


def message(
    message_id: int = 5, text: str | None = "hello 转发", chat: dict[str, Any] | None = None,
    sender: dict[str, Any] | None = ALICE, **extra: Any,
) -> dict[str, Any]:
    msg: dict[str, Any] = {"message_id": message_id, "date": 1700000000,
                           "chat": chat if chat is not None else GROUP}
    if sender is not None:
        msg["from"] = sender
    if text is not None:
        msg["text"] = text
    msg.update(extra)
    return msg


def update(update_id: int, **fields: Any) -> dict[str, Any]:
    return {"update_id": update_id, **fields}


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(telegram_secret_token=SECRET)


@pytest.fixture
def make_client(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> MakeClient:
    async def make(**overrides: Any) -> Client:
        result: Client = await aiohttp_client(create_app(make_settings(**overrides)))
        return result

    return make


async def post(client: Client, body: Any, secret: str | None = SECRET) -> Any:
    headers = {HEADER: secret} if secret is not None else {}
    if isinstance(body, bytes):
        return await client.post("/webhooks/telegram", data=body, headers=headers)
    return await client.post("/webhooks/telegram", json=body, headers=headers)


async def test_message_is_stored_as_received(client: Client) -> None:
    resp = await post(client, update(1, message=message()))
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "duplicate": False}
    assert await rows(client) == [
        {
            "kook_message_id": "tg:-1001234:5",
            "kook_channel_id": "-1001234",
            "content": "hello 转发",
            "message_type": "text",
            "sender_name": "alice",
            "target_platform": "",
            "target_channel": "",
            "status": "received",
            "attempts": 1,
        }
    ]


async def test_sender_without_username_is_first_and_last_name(client: Client) -> None:
    sender = {"id": 12, "is_bot": False, "first_name": "Bob", "last_name": "Stone"}
    await post(client, update(1, message=message(sender=sender)))
    assert [r["sender_name"] for r in await rows(client)] == ["Bob Stone"]


async def test_caption_is_the_content_of_a_photo(client: Client) -> None:
    photo = [{"file_id": "f1", "file_unique_id": "u1", "width": 90, "height": 90}]
    await post(client, update(1, message=message(text=None, photo=photo, caption="看这个")))
    stored = await rows(client)
    assert [(r["content"], r["message_type"]) for r in stored] == [("看这个", "photo")]


async def test_same_message_id_in_two_chats_is_two_rows(client: Client) -> None:
    await post(client, update(1, message=message(chat=GROUP)))
    await post(client, update(2, message=message(chat={"id": 99, "type": "private"})))
    assert [r["kook_message_id"] for r in await rows(client)] == ["tg:-1001234:5", "tg:99:5"]


async def test_edit_updates_the_stored_content(client: Client) -> None:
    await post(client, update(1, message=message(text="first")))
    resp = await post(client, update(2, edited_message=message(text="second", edit_date=1)))
    assert resp.status == 200
    stored = await rows(client)
    assert [(r["content"], r["attempts"], r["status"]) for r in stored] == [
        ("second", 1, "received")
    ]


async def test_edit_of_an_unseen_message_stores_it(client: Client) -> None:
    await post(client, update(2, edited_message=message(text="edited")))
    assert [r["content"] for r in await rows(client)] == ["edited"]


async def test_channel_post_sender_is_the_chat_title(client: Client) -> None:
    await post(client, update(1, channel_post=message(chat=CHANNEL, sender=None)))
    stored = await rows(client)
    assert [(r["kook_channel_id"], r["sender_name"]) for r in stored] == [
        ("-100777", "News channel")
    ]


async def test_edited_channel_post_updates_the_post(client: Client) -> None:
    await post(client, update(1, channel_post=message(chat=CHANNEL, sender=None, text="a")))
    await post(client, update(2, edited_channel_post=message(chat=CHANNEL, sender=None, text="b")))
    assert [r["content"] for r in await rows(client)] == ["b"]


async def test_duplicate_update_id_changes_nothing(client: Client) -> None:
    await post(client, update(1, message=message(text="first")))
    resp = await post(client, update(1, message=message(text="first")))
    assert (await resp.json())["duplicate"] is True
    assert [(r["content"], r["attempts"]) for r in await rows(client)] == [("first", 1)]


async def test_redelivered_old_edit_does_not_undo_a_newer_one(client: Client) -> None:
    await post(client, update(1, message=message(text="v1")))
    await post(client, update(2, edited_message=message(text="v2")))
    await post(client, update(3, edited_message=message(text="v3")))
    resp = await post(client, update(2, edited_message=message(text="v2")))
    assert (await resp.json())["duplicate"] is True
    assert [r["content"] for r in await rows(client)] == ["v3"]


async def test_concurrent_duplicate_deliveries_store_one_row(client: Client) -> None:
    answers = await asyncio.gather(
        *(post(client, update(1, message=message())) for _ in range(5))
    )
    assert [a.status for a in answers] == [200] * 5
    assert [r["attempts"] for r in await rows(client)] == [1]


async def test_handled_update_id_is_recorded(client: Client) -> None:
    await post(client, update(42, message=message()))
    seen = await client.app[keys.DB].execute_read("SELECT source, event_id FROM webhook_events")
    assert seen == [{"source": "telegram", "event_id": "42:tg:-1001234:5"}]


async def test_missing_secret_is_401_and_stores_nothing(client: Client) -> None:
    await assert_error(await post(client, update(1, message=message()), secret=None), 401)
    assert await rows(client) == []


async def test_wrong_secret_is_401_and_stores_nothing(client: Client) -> None:
    resp = await post(client, update(1, message=message()), secret="guess")
    body = await assert_error(resp, 401)
    assert SECRET not in body["message"]
    assert await rows(client) == []


async def test_webhook_is_a_404_disabled_when_secret_is_unset(make_client: MakeClient) -> None:
    client = await make_client()
    body = await assert_error(await post(client, update(1, message=message())), 404)
    assert body["code"] == "disabled"
    assert "MSGLOG_TELEGRAM_SECRET_TOKEN" in body["message"]


async def test_missing_secret_header_is_401_even_while_disabled(make_client: MakeClient) -> None:
    client = await make_client()
    resp = await post(client, update(1, message=message()), secret=None)
    assert (await assert_error(resp, 401))["code"] == "unauthorized"


async def test_non_json_body_is_400(client: Client) -> None:
    await assert_error(await post(client, b"{not json"), 400)


async def test_non_utf8_body_is_400(client: Client) -> None:
    await assert_error(await post(client, b'{"update_id": 1, "x": "\xff"}'), 400)


async def test_truncated_body_is_400(client: Client) -> None:
    await assert_error(await post(client, b'{"update_id": 1, "message": {"message_id'), 400)


async def test_message_without_chat_is_422(client: Client) -> None:
    body = update(1, message={"message_id": 5, "date": 1, "text": "x"})
    details = (await assert_error(await post(client, body), 422))["details"]
    assert [d["field"] for d in details] == ["message.chat"]


async def test_unknown_update_kind_is_acknowledged_and_ignored(client: Client) -> None:
    query = {"id": "q1", "from": ALICE, "chat_instance": "c", "data": "x"}
    resp = await post(client, update(1, callback_query=query))
    assert resp.status == 200
    assert await rows(client) == []


async def test_webhook_is_not_behind_the_api_token(make_client: MakeClient) -> None:
    client = await make_client(telegram_secret_token=SECRET, api_token="api-secret")
    resp = await post(client, update(1, message=message()))
    assert resp.status == 200


async def test_repeated_update_id_carrying_another_message_is_stored(client: Client) -> None:
    await post(client, update(5, message=message(text="first", message_id=1)))
    resp = await post(client, update(5, message=message(text="second", message_id=2)))
    assert (await resp.json())["duplicate"] is False
    assert sorted(r["content"] for r in await rows(client)) == ["first", "second"]


async def test_unknown_query_parameter_is_422_naming_it(client: Client) -> None:
    resp = await client.post(
        "/webhooks/telegram?bogus=1", json=update(1, message=message()), headers={HEADER: SECRET}
    )
    assert [d["field"] for d in (await assert_error(resp, 422))["details"]] == ["bogus"]
    assert await rows(client) == []


async def test_update_id_given_as_a_string_is_422(client: Client) -> None:
    resp = await post(client, {"update_id": "1", "message": message()})
    assert [d["field"] for d in (await assert_error(resp, 422))["details"]] == ["update_id"]


async def test_chat_id_given_as_a_string_is_422(client: Client) -> None:
    body = update(1, message=message(chat={"id": "-1001234", "type": "group"}))
    details = (await assert_error(await post(client, body), 422))["details"]
    assert [d["field"] for d in details] == ["message.chat.id"]
