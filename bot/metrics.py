"""Prometheus metrics on a registry of the app's own (tests build many apps)."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from storage import AsyncDatabase

LATENCY_BUCKETS = Histogram.DEFAULT_BUCKETS


class RequestStats(Collector):
    """HTTP request counts and latencies, kept in plain dicts and exported at scrape time.

    A labelled prometheus-client Counter and Histogram take a lock per increment: three
    per request, a quarter of the request middleware's time. Requests are observed on
    the event loop only, so plain counters are safe; /metrics reads them on the same
    thread.
    """

    def __init__(self) -> None:
        self._bounds = [b for b in LATENCY_BUCKETS if b != float("inf")]
        self.counts: dict[tuple[str, str, int], int] = {}
        # (method, route) -> [per-bucket counts (the last is +Inf), sum of seconds]
        self._latency: dict[tuple[str, str], tuple[list[int], list[float]]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self.counts[key] = self.counts.get(key, 0) + 1
        entry = self._latency.get(key[:2])
        if entry is None:
            entry = self._latency[key[:2]] = ([0] * (len(self._bounds) + 1), [0.0])
        entry[0][bisect_left(self._bounds, seconds)] += 1
        entry[1][0] += seconds

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "msglog_http_requests",
            "HTTP requests by route and status",
            labels=["method", "route", "status"],
        )
        for (method, route, status), n in self.counts.items():
            requests.add_metric([method, route, str(status)], n)
        yield requests
        latency = HistogramMetricFamily(
            "msglog_http_request_duration_seconds",
            "HTTP request latency by route",
            labels=["method", "route"],
        )
        edges = [str(b) for b in self._bounds] + ["+Inf"]
        for (method, route), (counts, total) in self._latency.items():
            cumulative, running = [], 0
            for edge, n in zip(edges, counts, strict=True):
                running += n
                cumulative.append((edge, float(running)))
            latency.add_metric([method, route], cumulative, total[0])
        yield latency


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = RequestStats()
        self.registry.register(self.requests)
        self.batch_size = Histogram(
            "msglog_write_batch_size",
            "Items per write batch",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
            registry=self.registry,
        )
        self.commit_seconds = Histogram(
            "msglog_write_commit_seconds",
            "Time to run and commit one write batch",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0),
            registry=self.registry,
        )
        self.webhook_duplicates = Counter(
            "msglog_webhook_duplicates",
            "Webhook deliveries answered as duplicates (retries, messages already stored)",
            ["source"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "msglog_write_queue_depth", "Writes waiting or in flight", registry=self.registry
        )
        self.pool_size = Gauge(
            "msglog_read_pool_size", "Open read connections", registry=self.registry
        )
        self.pool_in_use = Gauge(
            "msglog_read_pool_in_use", "Read connections running a query", registry=self.registry
        )
        self.pool_waiting = Gauge(
            "msglog_read_pool_waiting", "Reads waiting for a connection", registry=self.registry
        )
        self.pool_waits = Gauge(
            "msglog_read_pool_waits", "Reads that had to wait, since start", registry=self.registry
        )
        self.wal_bytes = Gauge("msglog_wal_bytes", "WAL bytes in use", registry=self.registry)
        self.writer_up = Gauge(
            "msglog_writer_up",
            "1 while the writer commits; 0 once it stopped or made no progress while writes "
            "waited",
            registry=self.registry,
        )
        self.checkpoint_failures = Gauge(
            "msglog_wal_checkpoint_failures", "WAL checkpoints that failed, since start",
            registry=self.registry,
        )
        self.wal_pinned = Gauge(
            "msglog_wal_pinned",
            "1 while a snapshot (often a reader outside msglog) keeps checkpoints from "
            "rewinding the WAL",
            registry=self.registry,
        )
        self.wal_pinned_episodes = Gauge(
            "msglog_wal_pinned_episodes", "Times the WAL was pinned, since start",
            registry=self.registry,
        )

        self.deliveries = Counter(
            "msglog_deliveries",
            "Delivery attempts by target platform and outcome "
            "(sent, retry_after, retryable, permanent)",
            ["platform", "outcome"],
            registry=self.registry,
        )
        self.delivery_retries = Counter(
            "msglog_delivery_retries", "Deliveries scheduled for another try", ["platform"],
            registry=self.registry,
        )
        self.deliveries_dead = Counter(
            "msglog_deliveries_dead", "Deliveries given up (dead), since start", ["platform"],
            registry=self.registry,
        )
        self.delivery_queued = Gauge(
            "msglog_delivery_queued", "Deliveries waiting (pending or failed awaiting retry)",
            registry=self.registry,
        )
        self.delivery_dead_rows = Gauge(
            "msglog_delivery_dead_rows", "Dead rows in the database", registry=self.registry
        )
        self.delivery_oldest_pending = Gauge(
            "msglog_delivery_oldest_pending_seconds",
            "Age of the oldest delivery still waiting (0 when none)",
            registry=self.registry,
        )

    def observe_delivery(self, platform: str, outcome: str) -> None:
        self.deliveries.labels(platform, outcome).inc()

    def observe_retry(self, platform: str) -> None:
        self.delivery_retries.labels(platform).inc()

    def observe_dead(self, platform: str) -> None:
        self.deliveries_dead.labels(platform).inc()

    def observe_queue(self, queued: int, oldest_created_ms: int | None, dead: int) -> None:
        self.delivery_queued.set(queued)
        self.delivery_dead_rows.set(dead)
        age = 0.0 if oldest_created_ms is None else max(0.0, time.time() - oldest_created_ms / 1000)
        self.delivery_oldest_pending.set(age)

    def bind(self, db: AsyncDatabase) -> None:
        db.add_batch_observer(self._on_batch)
        self.queue_depth.set_function(lambda: float(db.stats()["writer"]["queue_depth"]))
        self.pool_size.set_function(lambda: float(db.stats()["read_pool"]["size"]))
        self.pool_in_use.set_function(lambda: float(db.stats()["read_pool"]["in_use"]))
        self.pool_waiting.set_function(lambda: float(db.stats()["read_pool"]["waiting"]))
        self.pool_waits.set_function(lambda: float(db.stats()["read_pool"]["waits"]))
        self.wal_bytes.set_function(lambda: float(db.stats()["wal"]["bytes"]))
        self.writer_up.set_function(lambda: float(db.writer_problem() is None))
        self.checkpoint_failures.set_function(
            lambda: float(db.stats()["wal"]["failed_checkpoints"])
        )
        self.wal_pinned.set_function(lambda: float(db.stats()["wal"]["pinned"] is not None))
        self.wal_pinned_episodes.set_function(
            lambda: float(db.stats()["wal"]["pinned_episodes"])
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.observe(method, route, status, seconds)

    def _on_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
