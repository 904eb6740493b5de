"""The OpenAPI document is valid 3.1, covers every route, and /docs shows it offline."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest
from apihelp import error_of
from openapi_spec_validator import validate

from bot.docs_page import METHODS
from bot.models import Status

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


async def spec_of(client: Any) -> dict[str, Any]:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    return body


def error_schema(operation: dict[str, Any], status: str) -> Any:
    return operation["responses"][status]["content"]["application/json"]["schema"]


async def test_document_passes_the_openapi_3_1_validator(client: Any) -> None:
    spec = await spec_of(client)
    assert spec["openapi"].startswith("3.1")
    validate(spec)


async def test_every_route_of_the_app_is_documented(client: Any) -> None:
    paths = (await spec_of(client))["paths"]
    missing = []
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        # The dashboard is a page, not part of the API.
        if route.method == "HEAD" or path == "/" or path.startswith("/static"):
            continue
        if route.method.lower() not in paths.get(path, {}):
            missing.append(f"{route.method} {path}")
    assert missing == []


async def test_patch_status_is_a_non_null_enum_without_a_null_default(client: Any) -> None:
    status = (await spec_of(client))["components"]["schemas"]["MessagePatch"]["properties"][
        "status"
    ]
    assert status["type"] == "string"
    assert status["enum"] == list(get_args(Status))
    assert "default" not in status


async def test_account_patch_needs_at_least_one_property(client: Any) -> None:
    schema = (await spec_of(client))["components"]["schemas"]["AccountPatch"]
    assert schema["minProperties"] == 1


async def test_numeric_ids_are_declared_string_or_integer(client: Any) -> None:
    props = (await spec_of(client))["components"]["schemas"]["MessageIn"]["properties"]
    for name in ("kook_message_id", "kook_channel_id", "target_channel"):
        assert {o["type"] for o in props[name]["anyOf"]} == {"string", "integer"}, name
    assert props["content"]["anyOf"][0]["type"] == "string"


async def test_stream_is_documented_as_an_event_stream_with_its_events(client: Any) -> None:
    stream = (await spec_of(client))["paths"]["/api/messages/stream"]["get"]
    media = stream["responses"]["200"]["content"]["text/event-stream"]
    assert set(media["x-events"]) == {"message", "overflow", "error"}
    assert media["x-events"]["message"]["data"] == {"$ref": "#/components/schemas/MessageOut"}
    params = {(p["in"], p["name"]) for p in stream["parameters"]}
    assert {("header", "Last-Event-ID"), ("query", "after_id"), ("query", "status"),
            ("query", "platform"), ("query", "channel"), ("query", "sender"),
            ("query", "q")} <= params
    assert "422" in stream["responses"]


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/admin/accounts", "get"), ("/api/admin/accounts", "post"),
     ("/api/admin/accounts/{id}", "get"), ("/api/admin/accounts/{id}", "patch"),
     ("/api/admin/accounts/{id}", "delete"), ("/webhooks/kook", "post"),
     ("/webhooks/telegram", "post")],
)
async def test_switchable_features_document_the_404_disabled(
    client: Any, path: str, method: str
) -> None:
    operation = (await spec_of(client))["paths"][path][method]
    assert error_schema(operation, "404") == ERROR_REF
    assert "disabled" in operation["responses"]["404"]["description"]


async def test_every_operation_documents_the_422_for_unknown_query_parameters(
    client: Any,
) -> None:
    paths = (await spec_of(client))["paths"]
    lacking = [
        f"{method.upper()} {path}"
        for path, item in paths.items()
        for method, operation in item.items()
        if method in METHODS and "422" not in operation["responses"]
    ]
    assert lacking == []


async def test_webhook_bodies_mark_what_the_server_requires(client: Any) -> None:
    schemas = (await spec_of(client))["components"]["schemas"]
    assert schemas["TelegramUpdate"]["required"] == ["update_id"]
    assert set(schemas["TelegramMessage"]["required"]) == {"message_id", "chat"}
    assert schemas["TelegramChat"]["required"] == ["id"]
    kook = schemas["KookEvent"]
    assert kook["required"] == ["s", "d"]
    assert set(kook["properties"]["d"]["required"]) == {"type", "verify_token"}


async def test_docs_page_is_html_listing_every_operation(client: Any) -> None:
    spec = await spec_of(client)
    resp = await client.get("/docs")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    page = await resp.text()
    for path, item in spec["paths"].items():
        for method in (m for m in item if m in METHODS):
            heading = f'<span class="method">{method}</span> <span class="path">{path}</span>'
            assert heading in page, f"{method} {path}"


async def test_docs_page_loads_nothing_from_elsewhere(client: Any) -> None:
    resp = await client.get("/docs")
    page = await resp.text()
    assert "<script" not in page
    assert re.findall(r'(?:src|href)="(?!#|/openapi\.json")([^"]*)"', page) == []
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]


async def test_stream_with_an_unknown_query_parameter_is_422(client: Any) -> None:
    err = await error_of(await client.get("/api/messages/stream", params={"bogus": "1"}), 422)
    assert [d["field"] for d in err["details"]] == ["bogus"]
