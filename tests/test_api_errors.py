"""Every error is JSON with the right status; hostile input never reaches a 5xx."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from apihelp import error_of, message, post

from bot.app import create_app
from tests.enginehelp import hold_writes

pytestmark = pytest.mark.engines("sqlite", "postgres")

ROOT = Path(__file__).resolve().parent.parent


async def test_malformed_json_is_400(client: Any) -> None:
    err = await error_of(await client.post("/api/messages", data=b"{not json"), 400)
    assert "JSON" in err["message"]


async def test_invalid_utf8_is_400(client: Any) -> None:
    await error_of(await client.post("/api/messages", data=b'{"a": "\xff\xfe"}'), 400)


async def test_empty_body_is_400(client: Any) -> None:
    await error_of(await client.post("/api/messages", data=b""), 400)


async def test_invalid_field_is_422_naming_the_field(client: Any) -> None:
    err = await error_of(await client.post("/api/messages", json=message(1, status="nope")), 422)
    assert [d["field"] for d in err["details"]] == ["status"]


async def test_missing_field_is_422(client: Any) -> None:
    body = message(1)
    del body["kook_channel_id"]
    err = await error_of(await client.post("/api/messages", json=body), 422)
    assert err["details"][0]["field"] == "kook_channel_id"


async def test_more_than_1000_messages_is_422(client: Any) -> None:
    await error_of(await client.post("/api/messages", json=[message(n) for n in range(1001)]), 422)


async def test_very_long_values_are_422_not_echoed(client: Any) -> None:
    resp = await client.post("/api/messages", json=message(1, sender_name="x" * 5000))
    err = await error_of(resp, 422)
    assert "x" * 100 not in str(err)
    resp = await client.get("/api/messages", params={"channel": "y" * 5000})
    await error_of(resp, 422)


async def test_body_over_the_limit_is_413(aiohttp_client: Any, make_settings: Any) -> None:
    client = await aiohttp_client(create_app(make_settings(max_body_bytes=2048)))
    err = await error_of(
        await client.post("/api/messages", json=message(1, content="z" * 10_000)), 413
    )
    assert err["code"] == "payload_too_large"


async def test_bad_query_parameters_are_422(client: Any) -> None:
    for params in [{"limit": "0"}, {"limit": "501"}, {"limit": "x"}, {"before_id": "-1"},
                   {"since": "yesterday"}, {"status": "weird"}, {"bogus": "1"}]:
        await error_of(await client.get("/api/messages", params=params), 422)


async def test_window_with_since_equal_to_until_is_empty_not_an_error(client: Any) -> None:
    await post(client, message(1))
    at = "2025-01-01T00:00:00Z"
    resp = await client.get("/api/messages", params={"since": at, "until": at})
    assert resp.status == 200
    assert (await resp.json())["items"] == []


async def test_window_with_since_after_until_is_empty_not_an_error(client: Any) -> None:
    await post(client, message(1))
    params = {"since": "2999-01-02T00:00:00Z", "until": "2000-01-01T00:00:00Z"}
    resp = await client.get("/api/messages", params=params)
    assert resp.status == 200
    assert (await resp.json())["items"] == []


async def test_number_for_content_is_422_not_coerced(client: Any) -> None:
    err = await error_of(await client.post("/api/messages", json=message(1, content=12345)), 422)
    assert [d["field"] for d in err["details"]] == ["content"]


async def test_number_for_error_message_is_422_not_coerced(client: Any) -> None:
    body = message(1, status="failed", error_message=0)
    err = await error_of(await client.post("/api/messages", json=body), 422)
    assert [d["field"] for d in err["details"]] == ["error_message"]


async def test_number_in_a_patch_error_message_is_422(client: Any) -> None:
    [row_id] = await post(client, message(1))
    resp = await client.patch(f"/api/messages/{row_id}", json={"error_message": 7})
    assert [d["field"] for d in (await error_of(resp, 422))["details"]] == ["error_message"]


async def test_boolean_for_an_id_is_422(client: Any) -> None:
    resp = await client.post("/api/messages", json=message(1, kook_channel_id=True))
    assert [d["field"] for d in (await error_of(resp, 422))["details"]] == ["kook_channel_id"]


async def test_numeric_id_beyond_64_bits_is_422(client: Any) -> None:
    resp = await client.post("/api/messages", json=message(1, kook_channel_id=2**64))
    assert [d["field"] for d in (await error_of(resp, 422))["details"]] == ["kook_channel_id"]


async def test_numeric_target_channel_is_stored_as_text(client: Any) -> None:
    [row_id] = await post(client, message(1, target_channel=-1001234567890))
    row = await (await client.get(f"/api/messages/{row_id}")).json()
    assert row["target_channel"] == "-1001234567890"


async def test_whole_float_latency_is_accepted_as_an_integer(client: Any) -> None:
    [row_id] = await post(client, message(1, latency_ms=0.0))
    assert (await (await client.get(f"/api/messages/{row_id}")).json())["latency_ms"] == 0


async def test_fractional_latency_is_422(client: Any) -> None:
    resp = await client.post("/api/messages", json=message(1, latency_ms=1.5))
    assert [d["field"] for d in (await error_of(resp, 422))["details"]] == ["latency_ms"]


async def test_unknown_query_parameter_on_ingest_is_422_and_stores_nothing(
    client: Any,
) -> None:
    err = await error_of(await client.post("/api/messages?dry=1", json=message(1)), 422)
    assert [d["field"] for d in err["details"]] == ["dry"]
    assert (await (await client.get("/api/messages")).json())["items"] == []


@pytest.mark.parametrize(
    "path",
    ["/api/messages/1", "/api/messages/export", "/api/stats", "/healthz", "/readyz",
     "/health/pool", "/metrics", "/openapi.json", "/docs"],
)
async def test_unknown_query_parameter_is_422_naming_it(client: Any, path: str) -> None:
    err = await error_of(await client.get(path, params={"bogus": "1"}), 422)
    assert [d["field"] for d in err["details"]] == ["bogus"]


async def test_unknown_query_parameter_on_patch_is_422(client: Any) -> None:
    [row_id] = await post(client, message(1))
    resp = await client.patch(f"/api/messages/{row_id}?bogus=1", json={"status": "failed"})
    assert [d["field"] for d in (await error_of(resp, 422))["details"]] == ["bogus"]


async def test_sql_looking_filters_are_just_values(client: Any) -> None:
    await post(client, message(1))
    for value in ["' OR 1=1 --", "chan-1' --", "1; DROP TABLE message_logs", "\x00", "%", "_"]:
        resp = await client.get("/api/messages", params={"channel": value, "sender": value})
        assert resp.status == 200
        assert (await resp.json())["items"] == []
    assert len((await (await client.get("/api/messages")).json())["items"]) == 1


async def test_a_nul_in_a_message_is_stored_and_found_by_its_filter(
    client: Any, engine: str
) -> None:
    [row_id] = await post(client, message(1, content="a\x00b", sender_name="s\x00"))
    resp = await client.get("/api/messages", params={"sender": "s\x00"})
    assert resp.status == 200
    [item] = (await resp.json())["items"]
    assert item["id"] == row_id
    # PostgreSQL's text cannot hold NUL: it is stored as U+FFFD there.
    nul = "\x00" if engine == "sqlite" else "\ufffd"
    assert (item["content"], item["sender_name"]) == (f"a{nul}b", f"s{nul}")


async def test_percent_encoded_invalid_utf8_in_query_is_not_a_500(client: Any) -> None:
    resp = await client.get("/api/messages?q=%ff%fe&channel=%c3%28")
    assert resp.status in (200, 400, 422)


async def test_unexpected_exception_is_a_plain_500_without_internals(
    aiohttp_client: Any, settings: Any
) -> None:
    app = create_app(settings)

    async def explode(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals /etc/passwd SELECT * FROM x")

    app.router.add_get("/api/explode", explode)
    client = await aiohttp_client(app)
    err = await error_of(await client.get("/api/explode"), 500)
    assert err == {"code": "internal_error", "message": "internal server error", "details": []}


async def test_overload_is_503_with_retry_after(
    aiohttp_client: Any, make_settings: Any, db_target: str | Path
) -> None:
    settings = make_settings(write_queue_max=1, write_enqueue_timeout_s=0.2)
    client = await aiohttp_client(create_app(settings))
    async with hold_writes(db_target):
        resp = await client.post("/api/messages", json=[message(n) for n in range(5)])
        err = await error_of(resp, 503)
        assert err["code"] == "overloaded"
        assert int(resp.headers["Retry-After"]) >= 1


async def test_api_token_is_required_when_set(aiohttp_client: Any, make_settings: Any) -> None:
    client = await aiohttp_client(create_app(make_settings(api_token="s3cret")))
    await error_of(await client.get("/api/messages"), 401)
    wrong = await client.get("/api/messages", headers={"Authorization": "Bearer nope"})
    await error_of(wrong, 401)
    ok = await client.get("/api/messages", headers={"Authorization": "Bearer s3cret"})
    assert ok.status == 200
    assert (await client.get("/healthz")).status == 200


def test_non_loopback_host_without_token_is_refused_at_start(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "run.py", "--db", str(tmp_path / "x.db"), "serve", "--host", "0.0.0.0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "MSGLOG_API_TOKEN": ""} | {"HOME": str(tmp_path)},
    )
    assert proc.returncode != 0
    assert "MSGLOG_API_TOKEN" in proc.stderr


async def test_patch_with_null_status_is_422(client: Any) -> None:
    [row_id] = await post(client, message(1))
    err = await error_of(await client.patch(f"/api/messages/{row_id}", json={"status": None}), 422)
    assert err["details"][0]["field"] == "status"


async def test_boolean_latency_is_422(client: Any) -> None:
    await error_of(await client.post("/api/messages", json=message(1, latency_ms=True)), 422)


async def test_numeric_time_bounds_are_422(client: Any) -> None:
    for value in ["0.5", "1700000000", "-3"]:
        err = await error_of(await client.get("/api/messages", params={"until": value}), 422)
        assert err["details"][0]["field"] == "until"
