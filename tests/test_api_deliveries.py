"""GET /api/deliveries and /api/deliveries/{route_id}: routes with their outcomes, over HTTP.

Routes come from the admin API, deliveries from received messages, outcomes from the
delivery worker sending to a local fake of Telegram whose answers are scripted.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.settings import Settings
from storage import AsyncDatabase, delivery_view
from tests.apihelp import error_of, message, post
from tests.fake_targets import FakeTargets
from tests.test_query_plans import RecordingDb, explain, full_scans

pytestmark = pytest.mark.engines("sqlite", "postgres")

ADMIN = "admin-token-deliveries"
ADMIN_AUTH = {"Authorization": f"Bearer {ADMIN}"}
BOT_TOKEN = "123456:telegram-bot-secret"
HOOK = "https://discord.example/api/webhooks/42/hook-secret-Xy9"
# A failed delivery waits at least half an hour for its retry: it stays failed, and holds
# back the rows queued after it (a route delivers in order), which stay pending.
BACKOFF_MS = 3_600_000


@pytest.fixture
def fake() -> FakeTargets:
    return FakeTargets()


@pytest.fixture
async def target_server(aiohttp_server: Any, fake: FakeTargets) -> TestServer:
    server: TestServer = await aiohttp_server(fake.app())
    return server


def _settings(make: Callable[..., Settings], server: TestServer, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "admin_token": ADMIN,
        "telegram_api_base": str(server.make_url("")).rstrip("/"),
        "telegram_bot_token": BOT_TOKEN,
        "delivery_backoff_base_ms": BACKOFF_MS,
        "delivery_backoff_max_s": BACKOFF_MS / 1000,
    }
    values.update(over)
    return make(**values)


@pytest.fixture
async def api(
    # The fake targets first: they stop after the app that sends to them.
    target_server: TestServer, aiohttp_client: Any, make_settings: Callable[..., Settings],
    fake: FakeTargets,
) -> Any:
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(_settings(make_settings, target_server))
    )
    yield client
    fake.release.set()


async def add_route(client: Any, channel: str = "-100", source: str = "chan-1",
                    **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"source_platform": "kook", "source_channel": source,
                            "target_platform": "telegram", "target_channel": channel}
    body.update(over)
    resp = await client.post("/api/admin/routes", json=body, headers=ADMIN_AUTH)
    assert resp.status == 201, await resp.text()
    route: dict[str, Any] = await resp.json()
    return route


async def receive(client: Any, n: int, source: str = "chan-1") -> None:
    await post(client, message(n, status="received", kook_channel_id=source,
                               target_platform="", target_channel="", latency_ms=None,
                               content=f"msg {n}", sender_name=f"sender {n}"))


async def get_json(client: Any, path: str, **params: Any) -> Any:
    resp = await client.get(path, params=params)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def summary(client: Any, route_id: int) -> dict[str, Any]:
    items = (await get_json(client, "/api/deliveries"))["items"]
    (item,) = [i for i in items if i["id"] == route_id]
    found: dict[str, Any] = item
    return found


async def settle(client: Any, route_id: int, **counts: int) -> dict[str, Any]:
    """The route's summary once its counts are `counts` (the others 0)."""
    wanted = {status: counts.get(status, 0) for status in delivery_view.STATUSES}
    for _ in range(500):
        item = await summary(client, route_id)
        if item["counts"] == wanted:
            return item
        await asyncio.sleep(0.01)
    raise AssertionError(f"counts stayed {item['counts']}, wanted {wanted}")


async def one_of_each(client: Any, fake: FakeTargets) -> tuple[dict[str, Any], list[int]]:
    """A route whose four messages end success, dead, failed and pending; their row ids."""
    route = await add_route(client)
    fake.script("-100", "ok", "400", "500")
    for n in range(1, 5):
        await receive(client, n)
    await settle(client, route["id"], success=1, dead=1, failed=1, pending=1)
    page = await get_json(client, f"/api/deliveries/{route['id']}")
    return route, [item["id"] for item in reversed(page["items"])]


async def test_no_routes_is_an_empty_list(api: Any) -> None:
    assert await get_json(api, "/api/deliveries") == {"items": []}


async def test_each_route_is_listed_with_its_source_target_and_state(api: Any) -> None:
    first = await add_route(api, "-100")
    second = await add_route(api, "k-9", source="chan-2", target_platform="kook", enabled=False)
    items = (await get_json(api, "/api/deliveries"))["items"]
    shown = [(i["id"], i["source_platform"], i["source_channel"], i["target_platform"],
              i["target_channel"], i["enabled"]) for i in items]
    assert shown == [(first["id"], "kook", "chan-1", "telegram", "-100", True),
                     (second["id"], "kook", "chan-2", "kook", "k-9", False)]


async def test_route_without_deliveries_has_zero_counts_and_no_times(api: Any) -> None:
    route = await add_route(api)
    item = await summary(api, route["id"])
    assert item["counts"] == {"pending": 0, "failed": 0, "success": 0, "dead": 0}
    assert [item[k] for k in ("oldest_waiting_at", "last_success_at", "last_error",
                              "last_error_at")] == [None, None, None, None]


async def test_counts_follow_each_outcome(api: Any, fake: FakeTargets) -> None:
    route, _ = await one_of_each(api, fake)
    item = await summary(api, route["id"])
    assert item["counts"] == {"pending": 1, "failed": 1, "success": 1, "dead": 1}


async def test_counts_are_per_route(api: Any, fake: FakeTargets) -> None:
    busy, _ = await one_of_each(api, fake)
    quiet = await add_route(api, "-200", source="chan-2")
    await receive(api, 9, source="chan-2")
    await settle(api, quiet["id"], success=1)
    assert (await summary(api, busy["id"]))["counts"]["success"] == 1


async def test_oldest_waiting_is_the_first_row_still_queued(api: Any, fake: FakeTargets) -> None:
    route, (_, _, failed, _) = await one_of_each(api, fake)
    row = await get_json(api, f"/api/messages/{failed}")
    assert (await summary(api, route["id"]))["oldest_waiting_at"] == row["created_at"]


async def test_last_success_is_when_it_was_recorded(api: Any, fake: FakeTargets) -> None:
    route, (success, *_) = await one_of_each(api, fake)
    row = await get_json(api, f"/api/messages/{success}")
    assert (await summary(api, route["id"]))["last_success_at"] == row["updated_at"]


async def test_last_error_is_the_newest_failures_message(api: Any, fake: FakeTargets) -> None:
    route, (_, _, failed, _) = await one_of_each(api, fake)
    row = await get_json(api, f"/api/messages/{failed}")
    item = await summary(api, route["id"])
    assert row["error_message"]
    assert (item["last_error"], item["last_error_at"]) == (row["error_message"],
                                                          row["updated_at"])


async def test_resent_delivery_counts_as_pending_again(api: Any, fake: FakeTargets) -> None:
    route = await add_route(api)
    fake.script("-100", "400")
    await receive(api, 1)
    item = await settle(api, route["id"], dead=1)
    assert item["oldest_waiting_at"] is None
    # Disabled, so the worker leaves the resent row waiting where the test can see it.
    resp = await api.patch(f"/api/admin/routes/{route['id']}", json={"enabled": False},
                           headers=ADMIN_AUTH)
    assert resp.status == 200
    (row,) = (await get_json(api, f"/api/deliveries/{route['id']}"))["items"]
    assert (await api.post(f"/api/messages/{row['id']}/resend")).status == 200
    item = await settle(api, route["id"], pending=1)
    assert item["oldest_waiting_at"] == row["created_at"]


async def test_listing_never_shows_a_target_url(api: Any) -> None:
    await add_route(api, "hooks", target_platform="discord", target_url=HOOK)
    resp = await api.get("/api/deliveries")
    text = await resp.text()
    assert resp.status == 200
    assert "target_url" not in text and "discord.example" not in text


async def test_route_page_never_shows_a_target_url(api: Any) -> None:
    route = await add_route(api, "hooks", target_platform="discord", target_url=HOOK)
    resp = await api.get(f"/api/deliveries/{route['id']}")
    text = await resp.text()
    assert resp.status == 200
    assert "target_url" not in text and "discord.example" not in text


async def test_api_token_is_enough_to_read_deliveries(
    # The fake targets first: they stop after the app that sends to them.
    target_server: TestServer, aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(
        create_app(_settings(make_settings, target_server, api_token="api-token-1"))
    )
    resp = await client.get("/api/deliveries",
                            headers={"Authorization": "Bearer api-token-1"})
    assert resp.status == 200


async def test_admin_token_alone_does_not_read_deliveries(
    # The fake targets first: they stop after the app that sends to them.
    target_server: TestServer, aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await aiohttp_client(
        create_app(_settings(make_settings, target_server, api_token="api-token-1"))
    )
    await error_of(await client.get("/api/deliveries", headers=ADMIN_AUTH), 401)


async def test_listing_takes_no_query_parameters(api: Any) -> None:
    err = await error_of(await api.get("/api/deliveries", params={"route_id": "1"}), 422)
    assert [d["field"] for d in err["details"]] == ["route_id"]


async def test_route_page_lists_deliveries_newest_first(api: Any, fake: FakeTargets) -> None:
    route, ids = await one_of_each(api, fake)
    page = await get_json(api, f"/api/deliveries/{route['id']}")
    assert [i["id"] for i in page["items"]] == sorted(ids, reverse=True)
    assert [i["status"] for i in page["items"]] == ["pending", "failed", "dead", "success"]
    assert page["next_before_id"] is None


async def test_route_page_carries_its_route_summary(api: Any, fake: FakeTargets) -> None:
    route, _ = await one_of_each(api, fake)
    page = await get_json(api, f"/api/deliveries/{route['id']}")
    assert page["route"] == await summary(api, route["id"])


async def test_delivery_items_have_exactly_their_fields(api: Any, fake: FakeTargets) -> None:
    route, (success, *_) = await one_of_each(api, fake)
    page = await get_json(api, f"/api/deliveries/{route['id']}")
    item = page["items"][-1]
    assert set(item) == set(delivery_view.DELIVERY_COLUMNS)
    assert (item["id"], item["status"], item["attempts"], item["error_message"],
            item["content"], item["sender_name"], item["kook_message_id"]) == (
        success, "success", 1, None, "msg 1", "sender 1", "m-1")
    assert item["latency_ms"] is not None


async def test_route_page_is_keyset_paged_with_before_id(api: Any, fake: FakeTargets) -> None:
    route, ids = await one_of_each(api, fake)
    path = f"/api/deliveries/{route['id']}"
    first = await get_json(api, path, limit=3)
    assert [i["id"] for i in first["items"]] == sorted(ids, reverse=True)[:3]
    rest = await get_json(api, path, limit=3, before_id=first["next_before_id"])
    assert [i["id"] for i in rest["items"]] == [min(ids)]
    assert rest["next_before_id"] is None


async def test_route_page_limit_over_500_is_422(api: Any) -> None:
    route = await add_route(api)
    err = await error_of(await api.get(f"/api/deliveries/{route['id']}",
                                       params={"limit": "501"}), 422)
    assert [d["field"] for d in err["details"]] == ["limit"]


async def test_route_page_unknown_query_parameter_is_422(api: Any) -> None:
    route = await add_route(api)
    err = await error_of(await api.get(f"/api/deliveries/{route['id']}",
                                       params={"status": "dead"}), 422)
    assert [d["field"] for d in err["details"]] == ["status"]


async def test_unknown_route_is_a_404(api: Any) -> None:
    err = await error_of(await api.get("/api/deliveries/999"), 404)
    assert err["code"] == "not_found"


async def test_route_id_past_64_bits_is_a_404(api: Any) -> None:
    await error_of(await api.get(f"/api/deliveries/{2**64}"), 404)


# -- query plans ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    """A database made by init() (no ANALYZE, as in production) holding deliveries."""
    path: Path = tmp_path_factory.mktemp("delivery-plans") / "messages.db"

    async def create() -> None:
        async with AsyncDatabase(path) as db:
            await db.execute_write(
                "INSERT INTO forward_routes (source_platform, source_channel, "
                "target_platform, target_channel) VALUES ('kook', 'chan-1', 'telegram', '-1')"
            )
            for n in range(40):
                await db.execute_write(
                    "INSERT INTO message_logs (kook_message_id, kook_channel_id, "
                    "target_platform, target_channel, status, created_at, updated_at) "
                    "VALUES (?, 'chan-1', '', '', 'received', ?, ?)", (f"m{n}", n, n)
                )

    asyncio.run(create())
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    yield conn
    conn.close()


PLAN_CASES: dict[str, Callable[[Any], Awaitable[Any]]] = {
    "every route": delivery_view.routes,
    "one route": lambda db: delivery_view.route(db, 1),
    "first page": lambda db: delivery_view.deliveries(db, 1, 50),
    "keyset page": lambda db: delivery_view.deliveries(db, 1, 50, 20),
}


# SQLite's EXPLAIN QUERY PLAN on a file made by init().
@pytest.mark.engines("sqlite")
@pytest.mark.parametrize("name", list(PLAN_CASES))
async def test_deliveries_view_reads_through_the_route_indexes(
    plan_db: sqlite3.Connection, name: str
) -> None:
    recorder = RecordingDb(plan_db)
    await PLAN_CASES[name](recorder)
    selects = [(sql, p) for sql, p in recorder.seen if "message_logs" in sql]
    assert selects
    for sql, params in selects:
        plan = explain(plan_db, sql, params)
        assert not full_scans(plan, ordered_walk_ok=False), f"{sql}\n" + "\n".join(plan)
        assert not [line for line in plan if "TEMP B-TREE" in line], "\n".join(plan)
        assert any("ix_logs_route" in line or "ix_logs_due" in line for line in plan), plan
