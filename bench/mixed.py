"""Mixed scenario cell: writers and dashboard readers at once, for a fixed window."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from storage import AsyncDatabase, LogFilter
from storage import message_logs as logs

from .common import (
    Payloads,
    fresh_db,
    index_new_rows,
    insert_rows,
    latency_summary,
    plain_connect,
    wal_bytes,
)

SAMPLE_SECONDS = 0.05
SEED_ROWS = 20_000


class WalSampler:
    """Samples the -wal file's size every 50 ms on its own thread."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wal-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, wal_bytes(self.path))
            self.samples += 1

    def __enter__(self) -> WalSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _seed(path: Path, payloads: Payloads) -> None:
    """A table that is not empty, so the first page reads real index pages."""
    conn = plain_connect(path)
    base = int(time.time() * 1000) - SEED_ROWS
    rows = [payloads.row(i, base + i) for i in range(SEED_ROWS)]
    conn.execute("BEGIN IMMEDIATE")
    insert_rows(conn, rows, 1000)
    index_new_rows(conn)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def _run(path: Path, pool: int | None, writers: int, readers: int,
               window: float) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if pool is not None:
        options = {"read_pool_min": pool, "read_pool_max": pool}
    db = AsyncDatabase(path, **options)
    await db.init()
    payloads = Payloads("mixed")
    write_lat: list[float] = []
    read_lat: list[float] = []
    stop = False
    counter = iter(range(SEED_ROWS, 10**9))

    async def writer() -> None:
        for i in counter:
            if stop:
                return
            t0 = time.perf_counter()
            await db.add_message_log_async(*payloads.args(i))
            if not stop:
                write_lat.append(time.perf_counter() - t0)

    async def reader() -> None:
        while not stop:
            t0 = time.perf_counter()
            items, _ = await logs.page(db, LogFilter(), 50)
            assert items
            if not stop:
                read_lat.append(time.perf_counter() - t0)

    base = db.stats()
    with WalSampler(path) as sampler:
        tasks = [asyncio.create_task(writer()) for _ in range(writers)]
        tasks += [asyncio.create_task(reader()) for _ in range(readers)]
        started = time.perf_counter()
        cpu = time.process_time()
        await asyncio.sleep(window)
        stop = True
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        final_wal = wal_bytes(path)
        stats = db.stats()
        await asyncio.gather(*tasks)
    await db.close()
    writer_stats = stats["writer"]
    batches = writer_stats["batches"] - base["writer"]["batches"]
    return {
        "pool": "adaptive" if pool is None else pool,
        "window_s": round(elapsed, 2),
        "writes_per_s": round(len(write_lat) / elapsed, 1),
        "reads_per_s": round(len(read_lat) / elapsed, 1),
        "read": latency_summary(read_lat),
        "write": latency_summary(write_lat),
        "cpu_cores_used": round(cpu / elapsed, 2),
        "rows_per_commit": round(writer_stats["rows"] / batches, 2) if batches else None,
        "wal_peak_bytes": sampler.peak,
        "wal_peak_seen_by_writer_bytes": stats["wal"].get("peak_bytes"),
        "wal_samples": sampler.samples,
        "wal_final_bytes": final_wal,
        "read_pool": stats["read_pool"],
        "checkpoints": stats["wal"].get("checkpoints"),
    }


def mixed_cell(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    path = workdir / "mixed.db"
    fresh_db(path)
    _seed(path, Payloads("seed"))
    return asyncio.run(_run(path, params["pool"], params["writers"], params["readers"],
                            params["window"]))
