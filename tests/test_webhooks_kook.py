"""POST /webhooks/kook: real KOOK deliveries (zlib, AES-256-CBC) through the HTTP app."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import sys
import zlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient
from apihelp import error_of as assert_error
from apihelp import stored_rows as rows
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot import keys, logs
from bot.app import create_app
from bot.settings import Settings

pytestmark = pytest.mark.engines("sqlite", "postgres")

VERIFY = "kook-verify-Token-1"
KEY = "s3cret-encrypt-key"
IV = b"0123456789abcdef"
Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


def message_event(
    msg_id: str = "msg-1",
    sn: int = 1,
    kind: int = 1,
    content: str = "消息转发失败了 hello",
    token: str = VERIFY,
    author: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "s": 0,
        "sn": sn,
        "d": {
            "channel_type": "GROUP",
            "type": kind,
            "target_id": "chan-42",
            "author_id": "u-7",
            "content": content,
            "msg_id": msg_id,
            "msg_timestamp": 1700000000000,
            "nonce": "",
            "verify_token": token,
            "extra": {
                "type": kind,
                "guild_id": "g-1",
                "author": author if author is not None else {"username": "alice", "nickname": "Al"},
            },
        },
    }


def challenge_event(token: str = VERIFY) -> dict[str, Any]:
    return {
        "s": 0,
        "d": {
            "type": 255,
            "channel_type": "WEBHOOK_CHALLENGE",
            "challenge": "bkes654x09XY",
            "verify_token": token,
        },
    }


def system_event(msg_id: str | None, sn: int) -> dict[str, Any]:
    """KOOK's documented joined_guild system event (type 255)."""
    data: dict[str, Any] = {
        "channel_type": "GROUP",
        "type": 255,
        "target_id": "60163000000000",
        "author_id": "1",
        "content": "[系统消息]",
        "extra": {
            "type": "joined_guild",
            "body": {"user_id": "3891000000", "joined_at": 1612774315000},
        },
        "msg_timestamp": 1612774315732,
        "nonce": "",
        "verify_token": VERIFY,
    }
    if msg_id is not None:
        data["msg_id"] = msg_id
    return {"s": 0, "d": data, "sn": sn}


def compress(obj: Any) -> bytes:
    return zlib.compress(json.dumps(obj).encode("utf-8"))


def encrypt(obj: Any, key: str = KEY, iv: bytes = IV) -> dict[str, str]:
    """KOOK's scheme: base64(iv + base64(AES-256-CBC(PKCS7(json)))), key NUL-padded."""
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode("utf-8")
    padder = padding.PKCS7(128).padder()
    plain = padder.update(raw) + padder.finalize()
    cipher_key = key.encode().ljust(32, b"\0")
    encryptor = Cipher(algorithms.AES(cipher_key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(plain) + encryptor.finalize()
    return {"encrypt": base64.b64encode(iv + base64.b64encode(ciphertext)).decode()}


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(kook_verify_token=VERIFY)


@pytest.fixture
def make_client(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> MakeClient:
    async def make(**overrides: Any) -> Client:
        result: Client = await aiohttp_client(create_app(make_settings(**overrides)))
        return result

    return make


@pytest.fixture
def info_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """JSON lines at the default level (INFO), as production writes them."""
    saved = structlog.get_config()
    out = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", out)  # configure() binds the stream it finds here
        logs.configure("json", "INFO")
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    structlog.configure(**saved)


async def post(client: Client, body: bytes, query: str = "") -> Any:
    return await client.post(f"/webhooks/kook{query}", data=body)


async def test_challenge_is_answered_with_its_value(client: Client) -> None:
    resp = await post(client, compress(challenge_event()))
    assert resp.status == 200
    assert await resp.json() == {"challenge": "bkes654x09XY"}
    assert await rows(client) == []


async def test_challenge_with_wrong_verify_token_is_refused(client: Client) -> None:
    resp = await post(client, compress(challenge_event(token="forged")))
    await assert_error(resp, 401)


async def test_message_is_stored_as_received(client: Client) -> None:
    resp = await post(client, compress(message_event()))
    assert resp.status == 200
    assert await resp.json() == {"ok": True, "duplicate": False}
    assert await rows(client) == [
        {
            "kook_message_id": "msg-1",
            "kook_channel_id": "chan-42",
            "content": "消息转发失败了 hello",
            "message_type": "text",
            "sender_name": "alice",
            "target_platform": "",
            "target_channel": "",
            "status": "received",
            "attempts": 1,
        }
    ]


@pytest.mark.parametrize(
    ("kind", "name"),
    [(1, "text"), (2, "image"), (3, "video"), (4, "file"), (8, "audio"),
     (9, "kmarkdown"), (10, "card")],
)
async def test_message_type_is_stored_by_name(client: Client, kind: int, name: str) -> None:
    await post(client, compress(message_event(kind=kind)))
    assert [r["message_type"] for r in await rows(client)] == [name]


async def test_sender_falls_back_to_nickname(client: Client) -> None:
    await post(client, compress(message_event(author={"nickname": "Al"})))
    assert [r["sender_name"] for r in await rows(client)] == ["Al"]


async def test_redelivery_with_same_sn_changes_nothing(client: Client) -> None:
    await post(client, compress(message_event(sn=5)))
    resp = await post(client, compress(message_event(sn=5, content="changed")))
    assert resp.status == 200
    assert (await resp.json())["duplicate"] is True
    stored = await rows(client)
    assert [(r["content"], r["attempts"]) for r in stored] == [("消息转发失败了 hello", 1)]


async def test_same_msg_id_with_new_sn_changes_nothing(client: Client) -> None:
    await post(client, compress(message_event(sn=5)))
    resp = await post(client, compress(message_event(sn=6, content="changed")))
    assert resp.status == 200
    assert (await resp.json())["duplicate"] is True
    stored = await rows(client)
    assert [(r["content"], r["attempts"]) for r in stored] == [("消息转发失败了 hello", 1)]


async def test_concurrent_redeliveries_store_one_row(client: Client) -> None:
    bodies = [compress(message_event(sn=sn)) for sn in (1, 1, 2, 3, 3, 4)]
    answers = await asyncio.gather(*(post(client, b) for b in bodies))
    flags = [(await a.json())["duplicate"] for a in answers]
    assert sorted(flags) == [False, True, True, True, True, True]
    assert [r["attempts"] for r in await rows(client)] == [1]


async def test_handled_sn_is_recorded(client: Client) -> None:
    await post(client, compress(message_event(sn=77)))
    seen = await client.app[keys.DB].execute_read(
        "SELECT source, event_id FROM webhook_events"
    )
    assert seen == [{"source": "kook", "event_id": "77:msg-1"}]


async def test_wrong_verify_token_is_401_and_stores_nothing(client: Client) -> None:
    body = await assert_error(await post(client, compress(message_event(token="forged"))), 401)
    assert body["code"] == "unauthorized"
    assert await rows(client) == []


async def test_missing_verify_token_is_401(client: Client) -> None:
    event = message_event()
    del event["d"]["verify_token"]
    await assert_error(await post(client, compress(event)), 401)
    assert await rows(client) == []


async def test_error_never_echoes_the_verify_token(client: Client) -> None:
    resp = await post(client, compress(message_event(token="forged")))
    assert VERIFY not in await resp.text()


async def test_encrypted_message_is_decrypted_and_stored(make_client: MakeClient) -> None:
    client = await make_client(kook_verify_token=VERIFY, kook_encrypt_key=KEY)
    resp = await post(client, compress(encrypt(message_event())))
    assert resp.status == 200
    assert [r["kook_message_id"] for r in await rows(client)] == ["msg-1"]


async def test_encrypted_challenge_is_answered(make_client: MakeClient) -> None:
    client = await make_client(kook_verify_token=VERIFY, kook_encrypt_key=KEY)
    resp = await post(client, compress(encrypt(challenge_event())))
    assert await resp.json() == {"challenge": "bkes654x09XY"}


async def test_body_encrypted_with_wrong_key_is_400(make_client: MakeClient) -> None:
    client = await make_client(kook_verify_token=VERIFY, kook_encrypt_key=KEY)
    resp = await post(client, compress(encrypt(message_event(), key="another-key")))
    await assert_error(resp, 400)
    assert await rows(client) == []


async def test_every_decryption_failure_gives_the_same_answer(
    make_client: MakeClient,
) -> None:
    # Different answers for bad padding and bad plaintext would be a padding oracle.
    client = await make_client(kook_verify_token=VERIFY, kook_encrypt_key=KEY)
    bodies = [
        encrypt(b"not json at all"),
        encrypt(b'{"s": "\xff"}'),
        encrypt(b"[1, 2]"),
        encrypt(message_event(), key="another-key"),
        {"encrypt": base64.b64encode(IV + base64.b64encode(b"x" * 20)).decode()},
        {"encrypt": "%%%"},
    ]
    messages = set()
    for body in bodies:
        messages.add((await assert_error(await post(client, compress(body)), 400))["message"])
    assert len(messages) == 1


async def test_plain_body_when_a_key_is_configured_is_400(make_client: MakeClient) -> None:
    client = await make_client(kook_verify_token=VERIFY, kook_encrypt_key=KEY)
    await assert_error(await post(client, compress(message_event())), 400)
    assert await rows(client) == []


async def test_encrypted_body_without_a_configured_key_is_400(client: Client) -> None:
    await assert_error(await post(client, compress(encrypt(message_event()))), 400)


async def test_garbage_body_is_400(client: Client) -> None:
    body = await assert_error(await post(client, b"\x00\xffnot zlib, not json"), 400)
    assert body["code"] == "bad_request"


async def test_empty_body_is_400(client: Client) -> None:
    await assert_error(await post(client, b""), 400)


async def test_truncated_zlib_is_400(client: Client) -> None:
    whole = compress(message_event())
    await assert_error(await post(client, whole[: len(whole) // 2]), 400)
    assert await rows(client) == []


async def test_zlib_with_trailing_bytes_is_400(client: Client) -> None:
    await assert_error(await post(client, compress(message_event()) + b"junk"), 400)


async def test_compressed_non_json_is_400(client: Client) -> None:
    await assert_error(await post(client, zlib.compress(b"{not json")), 400)


async def test_compressed_non_utf8_is_400(client: Client) -> None:
    await assert_error(await post(client, zlib.compress(b'{"s": "\xff\xfe"}')), 400)


async def test_top_level_json_array_is_400(client: Client) -> None:
    await assert_error(await post(client, compress([message_event()])), 400)


async def test_deeply_nested_json_is_400(client: Client) -> None:
    await assert_error(await post(client, zlib.compress(b"[" * 200_000)), 400)


async def test_overlong_number_is_400(client: Client) -> None:
    await assert_error(await post(client, zlib.compress(b'{"sn": ' + b"9" * 5000 + b"}")), 400)


async def test_decompression_bomb_is_413(make_client: MakeClient) -> None:
    client = await make_client(kook_verify_token=VERIFY, max_body_bytes=4096)
    bomb = compress({"s": 0, "d": {"content": "a" * 1_000_000}})
    assert len(bomb) < 4096
    await assert_error(await post(client, bomb), 413)


async def test_uncompressed_body_with_compress_0_is_stored(client: Client) -> None:
    body = json.dumps(message_event()).encode()
    resp = await post(client, body, "?compress=0")
    assert resp.status == 200
    assert [r["kook_message_id"] for r in await rows(client)] == ["msg-1"]


async def test_uncompressed_body_without_the_flag_is_still_accepted(client: Client) -> None:
    resp = await post(client, json.dumps(message_event()).encode())
    assert resp.status == 200
    assert [r["kook_message_id"] for r in await rows(client)] == ["msg-1"]


async def test_compressed_body_with_compress_0_is_400(client: Client) -> None:
    await assert_error(await post(client, compress(message_event()), "?compress=0"), 400)


async def test_system_event_is_acknowledged_and_ignored(client: Client) -> None:
    event = message_event(kind=255)
    event["d"]["extra"] = {"type": "joined_guild", "body": {"user_id": "u-1"}}
    resp = await post(client, compress(event))
    assert resp.status == 200
    assert await rows(client) == []


async def test_unknown_message_type_is_acknowledged_and_ignored(client: Client) -> None:
    resp = await post(client, compress(message_event(kind=12)))
    assert resp.status == 200
    assert await rows(client) == []


async def test_message_without_msg_id_is_422(client: Client) -> None:
    event = message_event()
    del event["d"]["msg_id"]
    body = await assert_error(await post(client, compress(event)), 422)
    assert [d["field"] for d in body["details"]] == ["msg_id"]


async def test_event_without_d_is_401(client: Client) -> None:
    await assert_error(await post(client, compress({"s": 0, "sn": 1})), 401)


async def test_webhook_is_a_404_disabled_when_verify_token_is_unset(
    make_client: MakeClient,
) -> None:
    client = await make_client()
    body = await assert_error(await post(client, compress(message_event())), 404)
    assert body["code"] == "disabled"
    assert "MSGLOG_KOOK_VERIFY_TOKEN" in body["message"]


async def test_webhook_is_not_behind_the_api_token(make_client: MakeClient) -> None:
    client = await make_client(kook_verify_token=VERIFY, api_token="api-secret")
    resp = await post(client, compress(message_event()))
    assert resp.status == 200


async def test_session_reset_reusing_sn_with_new_msg_ids_stores_every_message(
    client: Client,
) -> None:
    # KOOK numbers events per connection session: after a reconnect sn starts at 1 again.
    first_session = [message_event(msg_id=f"s1-{sn}", sn=sn, content=f"one {sn}")
                     for sn in (1, 2, 3)]
    second_session = [message_event(msg_id=f"s2-{sn}", sn=sn, content=f"two {sn}")
                      for sn in (1, 2)]
    answers = [await post(client, compress(e)) for e in first_session + second_session]
    assert [(await a.json())["duplicate"] for a in answers] == [False] * 5
    stored = {r["kook_message_id"] for r in await rows(client)}
    assert stored == {"s1-1", "s1-2", "s1-3", "s2-1", "s2-2"}


async def test_retry_of_same_sn_and_msg_id_is_counted_as_duplicate(client: Client) -> None:
    await post(client, compress(message_event(sn=9)))
    resp = await post(client, compress(message_event(sn=9)))
    assert (await resp.json())["duplicate"] is True
    metrics = await (await client.get("/metrics")).text()
    assert 'msglog_webhook_duplicates_total{source="kook"} 1.0' in metrics


async def test_retry_after_the_window_is_still_not_stored_twice(
    make_client: MakeClient,
) -> None:
    client = await make_client(kook_verify_token=VERIFY)
    await post(client, compress(message_event(sn=3)))
    # The window has passed for this delivery: the message's own key decides.
    await client.app[keys.DB].execute_write("UPDATE webhook_events SET created_at = 0")
    resp = await post(client, compress(message_event(sn=3)))
    assert (await resp.json())["duplicate"] is True
    assert [r["attempts"] for r in await rows(client)] == [1]


async def test_retry_of_same_sn_and_msg_id_is_logged_at_info(
    client: Client, info_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    await post(client, compress(message_event(msg_id="s1-4", sn=4)))
    await post(client, compress(message_event(msg_id="s1-4", sn=4)))
    noted = [line for line in info_logs() if line["event"] == "webhook_duplicate"]
    assert [(n["level"], n["source"], n["event_id"], n["message_id"]) for n in noted] == [
        ("info", "kook", "4", "s1-4")
    ]


async def test_system_event_retry_is_told_from_a_new_event_reusing_its_sn(
    client: Client,
) -> None:
    first = await post(client, compress(system_event("bcc9abbd-1", sn=15)))
    retry = await post(client, compress(system_event("bcc9abbd-1", sn=15)))
    # A new session numbers from the start again: same sn, another event.
    reused = await post(client, compress(system_event("ecec53c4-2", sn=15)))
    flags = [(await r.json())["duplicate"] for r in (first, retry, reused)]
    assert flags == [False, True, False]
    assert await rows(client) == []


async def test_system_event_without_msg_id_repeated_within_the_window_is_a_duplicate(
    client: Client,
) -> None:
    await post(client, compress(system_event(None, sn=21)))
    resp = await post(client, compress(system_event(None, sn=21)))
    assert (await resp.json())["duplicate"] is True
    metrics = await (await client.get("/metrics")).text()
    assert 'msglog_webhook_duplicates_total{source="kook"} 1.0' in metrics


async def test_system_event_without_msg_id_after_the_window_is_new(client: Client) -> None:
    await post(client, compress(system_event(None, sn=22)))
    await client.app[keys.DB].execute_write("UPDATE webhook_events SET created_at = 0")
    again = await post(client, compress(system_event(None, sn=22)))
    retry = await post(client, compress(system_event(None, sn=22)))
    # The window counts from the later delivery: its own retry is a duplicate.
    assert [(await r.json())["duplicate"] for r in (again, retry)] == [False, True]


async def test_unknown_query_parameter_is_422_naming_it(client: Client) -> None:
    body = await assert_error(await post(client, compress(message_event()), "?bogus=1"), 422)
    assert [d["field"] for d in body["details"]] == ["bogus"]
    assert await rows(client) == []


async def test_compress_other_than_0_or_1_is_422(client: Client) -> None:
    body = await assert_error(await post(client, compress(message_event()), "?compress=no"), 422)
    assert [d["field"] for d in body["details"]] == ["compress"]


async def test_signal_given_as_a_string_is_422(client: Client) -> None:
    event = message_event()
    event["s"] = "0"
    body = await assert_error(await post(client, compress(event)), 422)
    assert [d["field"] for d in body["details"]] == ["s"]
