"""Prometheus metrics on a registry of the app's own (tests build many apps)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage import AsyncDatabase


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "msglog_http_requests_total",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "msglog_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
        )
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
        self.wal_bytes = Gauge("msglog_wal_bytes", "WAL file size", registry=self.registry)
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    def bind(self, db: AsyncDatabase) -> None:
        db.add_batch_observer(self._on_batch)
        self.queue_depth.set_function(lambda: float(db.stats()["writer"]["queue_depth"]))
        self.pool_size.set_function(lambda: float(db.stats()["read_pool"]["size"]))
        self.pool_in_use.set_function(lambda: float(db.stats()["read_pool"]["in_use"]))
        self.pool_waiting.set_function(lambda: float(db.stats()["read_pool"]["waiting"]))
        self.pool_waits.set_function(lambda: float(db.stats()["read_pool"]["waits"]))
        self.wal_bytes.set_function(lambda: float(db.stats()["wal"]["bytes"]))

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        # labels() takes a lock and builds a key each call; the children are cached here.
        key = (method, route, status)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = self.requests.labels(method, route, str(status))
        timer = self._timers.get(key[:2])
        if timer is None:
            timer = self._timers[key[:2]] = self.latency.labels(method, route)
        counter.inc()
        timer.observe(seconds)

    def _on_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.commit_seconds.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
