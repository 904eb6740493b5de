"""Request metrics: counted per route and status, latency as a Prometheus histogram."""

from __future__ import annotations

from typing import Any

import pytest

from bot.metrics import RequestStats
from tests.apihelp import message, post

pytestmark = pytest.mark.engines("sqlite", "postgres")


def exported(stats: RequestStats) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in stats.collect():
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_latency_buckets_are_cumulative_and_include_their_bound() -> None:
    stats = RequestStats()
    for seconds in (0.001, 0.005, 0.2, 30.0):
        stats.observe("POST", "/api/messages", 201, seconds)
    buckets = exported(stats)["msglog_http_request_duration_seconds_bucket"]

    def le(bound: str) -> float:
        key = (("le", bound), ("method", "POST"), ("route", "/api/messages"))
        return buckets[key]

    assert le("0.005") == 2  # 0.005 itself belongs to the le="0.005" bucket
    assert le("0.1") == 2
    assert le("0.25") == 3
    assert le("10.0") == 3
    assert le("+Inf") == 4
    sums = exported(stats)["msglog_http_request_duration_seconds_sum"]
    assert round(next(iter(sums.values())), 3) == 30.206


async def test_metrics_count_posts_by_route_and_status(client: Any) -> None:
    await post(client, message(1))
    await post(client, message(2))
    await client.post("/api/messages", data=b"{", headers={"Content-Type": "application/json"})
    text = await (await client.get("/metrics")).text()
    route = 'method="POST",route="/api/messages"'
    assert f'msglog_http_requests_total{{{route},status="201"}} 2.0' in text
    assert f'msglog_http_requests_total{{{route},status="400"}} 1.0' in text
    assert f"msglog_http_request_duration_seconds_count{{{route}}} 3.0" in text
