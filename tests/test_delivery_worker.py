"""The delivery worker end to end: messages in over HTTP, out to a fake of each platform."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot import keys
from bot.app import create_app
from bot.settings import Settings
from storage import forward_routes
from storage.forward_routes import NewRoute
from tests.apihelp import message, post
from tests.fake_targets import FakeTargets

pytestmark = pytest.mark.engines("sqlite", "postgres")

TG_TOKEN = "123456:telegram-bot-secret"
KOOK_TOKEN = "kook-bot-secret"


@pytest.fixture
def fake() -> FakeTargets:
    return FakeTargets(slow_s=0.3)


@pytest.fixture
async def target_server(aiohttp_server: Any, fake: FakeTargets) -> TestServer:
    server: TestServer = await aiohttp_server(fake.app())
    return server


@pytest.fixture
async def fwd(
    # The fake targets first: they stop after the app that sends to them.
    target_server: TestServer, aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> TestClient[Any, Any]:
    base = str(target_server.make_url("")).rstrip("/")
    settings = make_settings(
        telegram_api_base=base, kook_api_base=base, telegram_bot_token=TG_TOKEN,
        kook_bot_token=KOOK_TOKEN, delivery_backoff_base_ms=1, delivery_backoff_max_s=0.05,
        delivery_max_attempts=4, delivery_timeout_s=2,
    )
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    return client


async def add_route(
    client: TestClient[Any, Any], server: TestServer, platform: str, channel: str,
    source: str = "chan-1",
) -> int:
    url = None
    if platform in ("discord", "feishu"):
        url = str(server.make_url(f"/{platform}/{channel}"))
    return await forward_routes.add(
        client.app[keys.DB],
        NewRoute("kook", source, platform, channel, url),
    )


async def receive(client: TestClient[Any, Any], n: int, source: str = "chan-1") -> None:
    await post(client, message(n, status="received", kook_channel_id=source,
                               target_platform="", target_channel="", latency_ms=None,
                               content=f"msg {n}"))


async def receive_long(client: TestClient[Any, Any]) -> None:
    """A message longer than two Discord messages: 2000 + 2000 + 500 characters."""
    await post(client, message(1, status="received", target_platform="", target_channel="",
                               latency_ms=None, content="字" * 4500))


async def settled(client: TestClient[Any, Any]) -> list[dict[str, Any]]:
    """Wait until nothing is queued; the delivery rows then."""
    db = client.app[keys.DB]
    for _ in range(2000):
        left = await db.execute_one(
            "SELECT count(*) AS n FROM message_logs WHERE next_attempt_at IS NOT NULL"
        )
        assert left is not None
        if left["n"] == 0:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("deliveries did not settle")
    return await db.execute_read(
        "SELECT id, kook_message_id, target_platform, target_channel, status, attempts, "
        "error_message FROM message_logs WHERE route_id IS NOT NULL ORDER BY id"
    )


async def test_every_message_reaches_every_platform_in_order(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    for platform, channel in (("discord", "hook1"), ("telegram", "-100"),
                              ("feishu", "hook2"), ("kook", "k-9")):
        await add_route(fwd, target_server, platform, channel)
    for n in range(5):
        await receive(fwd, n)
    rows = await settled(fwd)
    assert {r["status"] for r in rows} == {"success"}
    texts = [f"msg {n}" for n in range(5)]
    assert fake.got["hook1"] == texts
    assert fake.got["hook2"] == [f"alice: {t}" for t in texts]
    assert fake.got["-100"] == [f"alice: {t}" for t in texts]
    assert fake.got["k-9"] == [f"alice: {t}" for t in texts]


async def test_rate_limited_target_gets_each_message_once_in_order(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "telegram", "-100")
    fake.script("-100", "429", "ok", "429-body", "500")
    for n in range(4):
        await receive(fwd, n)
    await settled(fwd)
    assert fake.got["-100"] == [f"alice: msg {n}" for n in range(4)]


async def test_refused_message_goes_dead_at_once_with_the_targets_reason(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "discord", "hook1")
    fake.script("hook1", "400")
    await receive(fwd, 1)
    (row,) = await settled(fwd)
    assert (row["status"], row["attempts"]) == ("dead", 1)
    assert row["error_message"] == "HTTP 400: Unknown Webhook"


async def test_message_is_dead_after_the_last_attempt(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "kook", "k-9")
    fake.script("k-9", "500", "500", "500", "500")
    await receive(fwd, 1)
    (row,) = await settled(fwd)
    assert (row["status"], row["attempts"]) == ("dead", 4)
    assert fake.got["k-9"] == []


async def test_dropped_connection_is_sent_again_at_least_once(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "feishu", "hook2")
    fake.script("hook2", "drop")
    await receive(fwd, 1)
    (row,) = await settled(fwd)
    assert row["status"] == "success"
    assert fake.got["hook2"] == ["alice: msg 1", "alice: msg 1"]


async def test_slow_target_does_not_hold_up_another(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "discord", "slowhook")
    await add_route(fwd, target_server, "discord", "fasthook")
    fake.script("slowhook", "hold")
    for n in range(3):
        await receive(fwd, n)
    for _ in range(2000):
        if len(fake.got["fasthook"]) == 3:
            break
        await asyncio.sleep(0.01)
    # All three reached the fast target while the slow one still holds the first.
    assert fake.got["fasthook"] == ["msg 0", "msg 1", "msg 2"]
    assert fake.got["slowhook"] == []
    fake.release.set()
    await settled(fwd)
    assert fake.got["slowhook"] == ["msg 0", "msg 1", "msg 2"]


async def test_long_text_is_split_at_the_targets_limit(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "discord", "hook1")
    await receive_long(fwd)
    await settled(fwd)
    assert [len(t) for t in fake.got["hook1"]] == [2000, 2000, 500]


async def test_split_text_failing_midway_goes_on_from_the_part_not_accepted(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "discord", "hook1")
    fake.script("hook1", "ok", "500")
    await receive_long(fwd)
    (row,) = await settled(fwd)
    assert row["status"] == "success"
    assert [len(t) for t in fake.got["hook1"]] == [2000, 2000, 500]


async def test_resent_split_text_sends_only_the_parts_not_yet_accepted(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "discord", "hook1")
    fake.script("hook1", "ok", "400")
    await receive_long(fwd)
    (dead,) = await settled(fwd)
    assert dead["status"] == "dead"
    resp = await fwd.post(f"/api/messages/{dead['id']}/resend")
    assert resp.status == 200
    (row,) = await settled(fwd)
    assert row["status"] == "success"
    assert [len(t) for t in fake.got["hook1"]] == [2000, 2000, 500]


async def test_bot_tokens_and_webhook_urls_never_reach_the_logs(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await add_route(fwd, target_server, "telegram", "-100")
    await add_route(fwd, target_server, "discord", "hook-secret-path")
    fake.script("-100", "500", "drop")
    fake.script("hook-secret-path", "500", "400")
    await receive(fwd, 1)
    rows = await settled(fwd)
    logged = capsys.readouterr().out
    text = logged + repr(rows)
    assert TG_TOKEN not in text and "hook-secret-path/" not in text
    assert "delivery_retry" in logged and "delivery_dead" in logged


async def samples(client: TestClient[Any, Any]) -> dict[tuple[str, tuple[str, ...]], float]:
    resp = await client.get("/metrics")
    assert resp.status == 200
    found: dict[tuple[str, tuple[str, ...]], float] = {}
    for family in text_string_to_metric_families(await resp.text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.values())))] = sample.value
    return found


async def test_metrics_count_deliveries_by_platform_and_outcome(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "telegram", "-100")
    await add_route(fwd, target_server, "discord", "hook1")
    fake.script("-100", "429")
    fake.script("hook1", "400")
    await receive(fwd, 1)
    await settled(fwd)
    found = await samples(fwd)
    assert found[("msglog_deliveries_total", ("retry_after", "telegram"))] == 1
    assert found[("msglog_deliveries_total", ("sent", "telegram"))] == 1
    assert found[("msglog_deliveries_total", ("discord", "permanent"))] == 1
    assert found[("msglog_delivery_retries_total", ("telegram",))] == 1
    assert found[("msglog_deliveries_dead_total", ("discord",))] == 1


async def test_metrics_show_the_waiting_queue_and_its_oldest_row(
    fwd: TestClient[Any, Any], target_server: TestServer, fake: FakeTargets
) -> None:
    await add_route(fwd, target_server, "discord", "hook1")
    fake.script("hook1", "hold")
    await receive(fwd, 1)
    await receive(fwd, 2)
    for _ in range(100):
        found = await samples(fwd)
        if found[("msglog_delivery_queued", ())] == 2:
            break
        await asyncio.sleep(0.05)
    assert found[("msglog_delivery_queued", ())] == 2
    assert found[("msglog_delivery_oldest_pending_seconds", ())] > 0
    fake.release.set()
    await settled(fwd)
    for _ in range(100):
        found = await samples(fwd)
        if found[("msglog_delivery_queued", ())] == 0:
            break
        await asyncio.sleep(0.05)
    assert found[("msglog_delivery_queued", ())] == 0
    assert found[("msglog_delivery_oldest_pending_seconds", ())] == 0

