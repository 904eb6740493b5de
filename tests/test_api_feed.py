"""Stats, live tail, export and the OpenAPI document."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import pytest
from apihelp import error_of, message, post

from bot import keys
from bot.live import RowMatch

pytestmark = pytest.mark.engines("sqlite", "postgres")


async def test_stats_agree_with_counts_taken_in_sql(client: Any) -> None:
    bodies = [
        message(n, status=s, target_platform=p, latency_ms=lat)
        for n, (s, p, lat) in enumerate(
            [("success", "telegram", 100), ("success", "discord", 300), ("failed", "telegram", 900),
             ("pending", "discord", None), ("success", "telegram", 200), ("failed", "qq", 5000)]
        )
    ]
    await post(client, bodies)
    stats = await (await client.get("/api/stats", params={"range": "1h"})).json()
    db = client.app[keys.DB]
    by_status = {
        r["status"]: r["n"]
        for r in await db.execute_read(
            "SELECT status, count(*) AS n FROM message_logs GROUP BY status"
        )
    }
    by_platform = {
        r["target_platform"]: r["n"]
        for r in await db.execute_read(
            "SELECT target_platform, count(*) AS n FROM message_logs GROUP BY target_platform"
        )
    }
    assert stats["total"] == 6
    assert stats["by_status"] == by_status
    assert stats["by_platform"] == by_platform
    assert stats["failures"] == 2
    assert stats["success_rate"] == round(3 / 5, 4)
    assert stats["latency_ms"] == {"p50": 300, "p95": 5000}
    assert sum(p["success"] + p["failed"] + p["pending"] for p in stats["series"]) == 6
    assert len(stats["series"]) in (60, 61)


async def test_stats_filter_by_platform(client: Any) -> None:
    await post(client, [message(1, target_platform="a"), message(2, target_platform="b")])
    stats = await (await client.get("/api/stats?platform=a")).json()
    assert stats["total"] == 1 and stats["by_platform"] == {"a": 1}


async def test_stats_on_an_empty_range(client: Any) -> None:
    stats = await (await client.get("/api/stats?range=30d")).json()
    assert stats["total"] == 0
    assert stats["success_rate"] is None
    assert stats["latency_ms"] == {"p50": None, "p95": None}


async def test_stats_rejects_an_unknown_range(client: Any) -> None:
    await error_of(await client.get("/api/stats?range=2y"), 422)


async def read_event(resp: Any) -> dict[str, Any]:
    """The next `event: message` of a server-sent event stream."""
    block: list[str] = []
    while True:
        line = (await resp.content.readline()).decode()
        if line in ("\n", ""):
            if any(x.startswith("event: message") for x in block):
                data = next(x for x in block if x.startswith("data: "))
                event: dict[str, Any] = json.loads(data[len("data: "):])
                return event
            block = []
            continue
        block.append(line.rstrip("\n"))


async def test_stream_delivers_a_posted_row_and_its_update(client: Any) -> None:
    resp = await client.get("/api/messages/stream")
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/event-stream")
    first = await resp.content.readline()
    assert first.startswith(b"retry:")
    async with asyncio.timeout(10):  # fails instead of hanging
        while client.app[keys.HUB].subscribers == 0:
            await asyncio.sleep(0.01)
    [row_id] = await post(client, message("live", content="live tail row"))
    event = await asyncio.wait_for(read_event(resp), 5)
    assert (event["id"], event["content"]) == (row_id, "live tail row")
    await client.patch(f"/api/messages/{row_id}", json={"status": "failed"})
    event = await asyncio.wait_for(read_event(resp), 5)
    assert (event["id"], event["status"], event["attempts"]) == (row_id, "failed", 2)
    resp.close()


async def test_slow_stream_client_is_dropped_not_the_writer(client: Any) -> None:
    hub = client.app[keys.HUB]
    sub = await hub.subscribe(RowMatch())  # a client that never reads
    ids = []
    for chunk in range(4):
        ids += await post(client, [message(f"{chunk}-{n}") for n in range(100)])
    for _ in range(100):
        if sub.dropped:
            break
        await asyncio.sleep(0.02)
    assert sub.dropped
    assert hub.subscribers == 0
    assert len(ids) == 400  # every write was acknowledged regardless


async def test_export_ndjson_round_trips(client: Any) -> None:
    ids = await post(client, [message(n, content=f"line {n}, with \"quotes\"") for n in range(30)])
    resp = await client.get("/api/messages/export", params={"format": "ndjson"})
    assert resp.status == 200
    rows = [json.loads(line) for line in (await resp.text()).splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(ids)
    listed = await (await client.get("/api/messages", params={"limit": "500"})).json()
    assert rows == listed["items"]


async def test_export_csv_round_trips_with_filters(client: Any) -> None:
    await post(client, [message(n, status="failed" if n % 2 else "success",
                                content=f"多行\ntext, {n}") for n in range(10)])
    resp = await client.get("/api/messages/export", params={"format": "csv", "status": "failed"})
    assert resp.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert len(rows) == 5
    assert {r["status"] for r in rows} == {"failed"}
    assert rows[0]["content"].startswith("多行\ntext, ")


async def test_export_rejects_unknown_format(client: Any) -> None:
    await error_of(await client.get("/api/messages/export?format=xml"), 422)


async def test_openapi_describes_the_message_routes(client: Any) -> None:
    spec = await (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/messages", "/api/messages/{id}", "/api/stats"} <= set(spec["paths"])
    assert "MessageIn" in spec["components"]["schemas"]
    required = spec["components"]["schemas"]["MessageIn"]["required"]
    assert {"kook_message_id", "kook_channel_id", "status"} <= set(required)


async def test_rollup_stats_follow_inserts_updates_and_deletes(client: Any) -> None:
    ids = await post(client, [
        message(n, status="failed" if n % 3 == 0 else "success",
                target_platform="discord" if n % 2 else "telegram", latency_ms=100 + n * 10)
        for n in range(30)
    ])
    await client.patch(f"/api/messages/{ids[0]}", json={"status": "success", "latency_ms": 5})
    db = client.app[keys.DB]
    await db.execute_write("DELETE FROM message_logs WHERE id IN (?, ?)", (ids[1], ids[2]))
    for query in ["range=24h", "range=7d&status=failed", "range=30d&platform=discord"]:
        stats = await (await client.get(f"/api/stats?{query}")).json()
        where, params = "1 = 1", []
        if "status=failed" in query:
            where, params = "status = ?", ["failed"]
        if "platform=discord" in query:
            where, params = "target_platform = ?", ["discord"]
        rows = await db.execute_read(
            f"SELECT status, count(*) AS n FROM message_logs WHERE {where} GROUP BY status",
            params,
        )
        assert stats["by_status"] == {r["status"]: r["n"] for r in rows}, query
        latencies = sorted(
            r["latency_ms"] for r in await db.execute_read(
                f"SELECT latency_ms FROM message_logs WHERE {where}", params)
        )
        p50 = latencies[(len(latencies) + 1) // 2 - 1]
        # Rollups keep latency to two significant digits: never above, at most 10 % below.
        assert p50 * 0.9 <= stats["latency_ms"]["p50"] <= p50, query
