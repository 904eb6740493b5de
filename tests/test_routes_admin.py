"""Forward routes over the admin API, resend over HTTP; no target URL ever comes back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot import keys
from bot.app import create_app
from bot.routes import admin_routes, resend
from bot.settings import Settings
from storage import deliveries
from tests.apihelp import error_of, message, post

pytestmark = pytest.mark.engines("sqlite", "postgres")

TOKEN = "admin-token-for-tests"
HOOK = "https://discord.example/api/webhooks/42/super-secret-hook-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def admin(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> TestClient[Any, Any]:
    app = create_app(make_settings(admin_token=TOKEN))
    # Until bot/routes/__init__.py registers them (with their OpenAPI paths).
    if not any(r.resource and r.resource.canonical == "/api/admin/routes"
               for r in app.router.routes()):
        admin_routes.setup(app)
        resend.setup(app)
    client: TestClient[Any, Any] = await aiohttp_client(app)
    return client


def body(**kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"source_platform": "kook", "source_channel": "chan-1",
                              "target_platform": "discord", "target_channel": "general",
                              "target_url": HOOK}
    values.update(kw)
    return values


async def create(client: TestClient[Any, Any], **kw: Any) -> dict[str, Any]:
    resp = await client.post("/api/admin/routes", json=body(**kw), headers=AUTH)
    assert resp.status == 201, await resp.text()
    created: dict[str, Any] = await resp.json()
    return created


async def test_created_route_answers_201_with_its_id_and_url_redacted(
    admin: TestClient[Any, Any],
) -> None:
    route = await create(admin)
    assert route["id"] >= 1
    assert route["target_url"] == "https://discord.example/***"


async def test_route_listing_never_shows_the_webhook_url(admin: TestClient[Any, Any]) -> None:
    await create(admin)
    resp = await admin.get("/api/admin/routes", headers=AUTH)
    text = await resp.text()
    assert resp.status == 200 and "super-secret-hook-token" not in text
    assert len((await resp.json())["items"]) == 1


async def test_routes_need_the_admin_token(admin: TestClient[Any, Any]) -> None:
    resp = await admin.get("/api/admin/routes", headers={"Authorization": "Bearer nope"})
    await error_of(resp, 401)


async def test_plain_http_target_off_loopback_is_refused(admin: TestClient[Any, Any]) -> None:
    resp = await admin.post("/api/admin/routes", headers=AUTH,
                            json=body(target_url="http://example.com/hook"))
    await error_of(resp, 422)


async def test_discord_route_without_url_is_refused(admin: TestClient[Any, Any]) -> None:
    resp = await admin.post("/api/admin/routes", headers=AUTH, json=body(target_url=None))
    await error_of(resp, 422)


async def test_same_route_twice_is_a_conflict(admin: TestClient[Any, Any]) -> None:
    await create(admin)
    resp = await admin.post("/api/admin/routes", headers=AUTH, json=body())
    await error_of(resp, 409)


async def test_patch_disables_a_route(admin: TestClient[Any, Any]) -> None:
    route = await create(admin)
    resp = await admin.patch(f"/api/admin/routes/{route['id']}", headers=AUTH,
                             json={"enabled": False})
    assert resp.status == 200 and (await resp.json())["enabled"] is False


async def test_deleted_route_is_gone(admin: TestClient[Any, Any]) -> None:
    route = await create(admin)
    resp = await admin.delete(f"/api/admin/routes/{route['id']}", headers=AUTH)
    assert resp.status == 204
    resp = await admin.delete(f"/api/admin/routes/{route['id']}", headers=AUTH)
    await error_of(resp, 404)


async def test_dead_delivery_is_resent_as_pending(admin: TestClient[Any, Any]) -> None:
    # A closed local port: nothing leaves this machine.
    route = await create(admin, target_url="http://127.0.0.1:9/hook")
    db = admin.app[keys.DB]
    await post(admin, message(1, status="received", target_platform="", target_channel="",
                              latency_ms=None))
    await admin.patch(f"/api/admin/routes/{route['id']}", headers=AUTH, json={"enabled": False})
    (row,) = await db.execute_read("SELECT id FROM message_logs WHERE route_id = ?",
                                   (route["id"],))
    await deliveries.dead(db, row["id"], "HTTP 404: Unknown Webhook")
    resp = await admin.post(f"/api/messages/{row['id']}/resend")
    assert resp.status == 200, await resp.text()
    got = await resp.json()
    assert (got["status"], got["attempts"]) == ("pending", 0)


async def test_received_row_cannot_be_resent(admin: TestClient[Any, Any]) -> None:
    (row_id,) = await post(admin, message(1, status="received", target_platform="",
                                          target_channel="", latency_ms=None))
    resp = await admin.post(f"/api/messages/{row_id}/resend")
    await error_of(resp, 409)
