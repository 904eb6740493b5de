from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.engines("sqlite", "postgres")


async def test_healthz_answers_ok(client: Any) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    assert (await resp.json()) == {"status": "ok"}


async def test_readyz_is_ready_on_a_writable_database(client: Any) -> None:
    resp = await client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ready"


async def test_health_pool_reports_storage_stats(client: Any) -> None:
    resp = await client.get("/health/pool")
    body = await resp.json()
    assert set(body) >= {"writer", "read_pool", "wal"}
    assert body["read_pool"]["min"] == 2
    assert body["writer"]["queue_max"] == 10000


async def test_unknown_route_is_a_json_404(client: Any) -> None:
    resp = await client.get("/no/such/route")
    assert resp.status == 404
    body = await resp.json()
    assert body["error"]["code"] == "not_found"


async def test_wrong_method_is_a_json_405(client: Any) -> None:
    resp = await client.delete("/healthz")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_metrics_are_prometheus_text(client: Any) -> None:
    await client.get("/healthz")
    resp = await client.get("/metrics")
    text = await resp.text()
    assert resp.status == 200
    assert 'msglog_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert "msglog_write_queue_depth" in text
