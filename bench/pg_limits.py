"""PostgreSQL write limits on a table shaped like message_logs, through asyncpg.

    python -m bench.pg_limits [--seconds 3] [--producers 100] [--pool 4]

Three ways to write, each for `--seconds` on a fresh database of one throwaway server
(tests/pg_server.py, PostgreSQL's defaults: fsync on), once with synchronous_commit on
(a commit waits for its WAL flush) and once off (SQLite's WAL + synchronous=NORMAL bargain:
a crash may lose the last commits, never corrupt):

- copy: `--producers` tasks each COPY batches of 1000 rows (copy_records_to_table) over
  the pool: a bulk import, where nobody waits for one row's id.
- executemany / unnest: `--producers` tasks each submit one row at a time and wait for it,
  as webhook handlers do; one writer per pool connection takes up to 10 waiting rows per
  transaction, with executemany (callers get an acknowledgement, no id) or with one
  INSERT ... SELECT FROM unnest(...) RETURNING id, kook_message_id (each caller its id).

Prints a table and writes JSON to bench/results/pg-limits-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import INSERT_COLUMNS, RESULTS, Payloads, latency_summary, machine_facts
from bench.report import table
from bot.eventloop import new_event_loop
from tests.pg_server import PgServer, fresh_database, pg_server

COLUMNS = tuple(c.strip() for c in INSERT_COLUMNS.split(","))
# Payloads.row's order (INSERT_COLUMNS): ten text columns, then latency_ms and the times.
TYPES = ("text",) * 9 + ("integer", "bigint", "bigint")
TABLE = """
CREATE TABLE message_logs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kook_message_id text NOT NULL UNIQUE,
    kook_channel_id text,
    content text,
    message_type text,
    sender_name text,
    target_platform text,
    target_channel text,
    status text,
    error_message text,
    latency_ms integer,
    created_at bigint,
    updated_at bigint
)"""
INSERT = (f"INSERT INTO message_logs ({INSERT_COLUMNS}) VALUES "
          f"({', '.join(f'${n}' for n in range(1, len(COLUMNS) + 1))})")
UNNEST = (f"INSERT INTO message_logs ({INSERT_COLUMNS}) SELECT * FROM unnest("
          + ", ".join(f"${n}::{t}[]" for n, t in enumerate(TYPES, 1))
          + ") RETURNING id, kook_message_id")
COPY_BATCH = 1000
SMALL_BATCH = 10
Row = tuple[Any, ...]
Write = Callable[[asyncpg.Connection, list[Row]], Awaitable[list[int | None]]]


def server_cpu_s(server: PgServer) -> float | None:
    """CPU seconds used so far by the server's processes (postmaster's children), or None."""
    try:
        postmaster = (server.socket_dir / "data" / "postmaster.pid").read_text().split()[0]
        ticks = 0
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:  # exited since the scan
                continue
            # Fields after the ")" that closes the command: state ppid ... utime(12) stime(13)
            fields = stat.rsplit(")", 1)[1].split()
            if fields[1] == postmaster or entry.name == postmaster:
                ticks += int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def client_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def write_executemany(conn: asyncpg.Connection, rows: list[Row]) -> list[int | None]:
    async with conn.transaction():
        await conn.executemany(INSERT, rows)
    return [None] * len(rows)


async def write_unnest(conn: asyncpg.Connection, rows: list[Row]) -> list[int | None]:
    got = await conn.fetch(UNNEST, *zip(*rows, strict=True))
    # Matched by key, not by position: RETURNING's order is not promised by SQL.
    ids: dict[str, int] = {r["kook_message_id"]: r["id"] for r in got}
    return [ids[row[0]] for row in rows]


async def copy_load(pool: asyncpg.Pool, rows: Payloads, producers: int,
                    seconds: float) -> tuple[int, list[float], set[int]]:
    """Producers COPY their own batches of COPY_BATCH rows until the time is up."""
    counter = iter(range(sys.maxsize))
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    written = 0

    async def producer() -> None:
        nonlocal written
        while time.perf_counter() < deadline:
            now = int(time.time() * 1000)
            batch = [rows.row(next(counter), now) for _ in range(COPY_BATCH)]
            started = time.perf_counter()
            async with pool.acquire() as conn:
                await conn.copy_records_to_table("message_logs", records=batch,
                                                 columns=COLUMNS)
            latencies.append(time.perf_counter() - started)
            written += len(batch)

    await asyncio.gather(*(producer() for _ in range(producers)))
    return written, latencies, set(), -(-written // COPY_BATCH)


async def coalesced_load(pool: asyncpg.Pool, rows: Payloads, producers: int, seconds: float,
                         writers: int, write: Write) -> tuple[int, list[float], set[int], int]:
    """Producers wait for one row at a time; writers take up to SMALL_BATCH per write."""
    queue: asyncio.Queue[tuple[Row, asyncio.Future[int | None]]] = asyncio.Queue()
    counter = iter(range(sys.maxsize))
    latencies: list[float] = []
    ids: set[int] = set()
    deadline = time.perf_counter() + seconds
    written = writes = 0

    async def writer() -> None:
        nonlocal writes
        while True:
            waiting = [await queue.get()]
            while len(waiting) < SMALL_BATCH and not queue.empty():
                waiting.append(queue.get_nowait())
            try:
                async with pool.acquire() as conn:
                    got = await write(conn, [row for row, _ in waiting])
                writes += 1
            except Exception as exc:
                for _, fut in waiting:
                    fut.set_exception(exc)
                continue
            for (_, fut), row_id in zip(waiting, got, strict=True):
                fut.set_result(row_id)

    async def producer() -> None:
        nonlocal written
        loop = asyncio.get_running_loop()
        while time.perf_counter() < deadline:
            fut: asyncio.Future[int | None] = loop.create_future()
            started = time.perf_counter()
            await queue.put((rows.row(next(counter), int(time.time() * 1000)), fut))
            row_id = await fut
            latencies.append(time.perf_counter() - started)
            written += 1
            if row_id is not None:
                ids.add(row_id)

    tasks = [asyncio.create_task(writer()) for _ in range(writers)]
    try:
        await asyncio.gather(*(producer() for _ in range(producers)))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return written, latencies, ids, writes


async def cell(server: PgServer, method: str, sync_commit: str, args: argparse.Namespace,
               ) -> dict[str, Any]:
    """One method, one synchronous_commit setting, on a fresh database."""
    async with fresh_database(server.url) as url:
        conn = await asyncpg.connect(url)
        await conn.execute(TABLE)
        await conn.close()
        # Every cell starts with no dirty pages of the one before to write out.
        admin = await asyncpg.connect(host=str(server.socket_dir), port=server.port,
                                      user="postgres", database="postgres")
        await admin.execute("CHECKPOINT")
        await admin.close()
        pool = await asyncpg.create_pool(url, min_size=args.pool, max_size=args.pool,
                                         server_settings={"synchronous_commit": sync_commit})
        rows = Payloads(f"{method}-{sync_commit}")
        try:
            server_before, client_before = server_cpu_s(server), client_cpu_s()
            started = time.perf_counter()
            if method == "copy":
                written, latencies, ids, writes = await copy_load(pool, rows, args.producers,
                                                                  args.seconds)
            else:
                write = write_unnest if method == "unnest" else write_executemany
                written, latencies, ids, writes = await coalesced_load(
                    pool, rows, args.producers, args.seconds, args.pool, write)
            elapsed = time.perf_counter() - started
            server_after, client_after = server_cpu_s(server), client_cpu_s()
            stored = await pool.fetchval("SELECT count(*) FROM message_logs")
        finally:
            await pool.close()
    if stored != written:
        raise AssertionError(f"{method}: {written} rows acknowledged, {stored} stored")
    if method == "unnest" and len(ids) != written:
        raise AssertionError(f"unnest: {written} rows but {len(ids)} distinct ids returned")
    server_cpu = (None if server_before is None or server_after is None
                  else round((server_after - server_before) / written * 1e6, 1))
    return {
        "method": method, "synchronous_commit": sync_commit,
        "batch_rows": COPY_BATCH if method == "copy" else SMALL_BATCH,
        "rows_per_write": round(written / writes, 2),
        "latency_of": "batch" if method == "copy" else "row",
        "rows": written, "seconds": round(elapsed, 3),
        "rows_per_s": round(written / elapsed, 1),
        **latency_summary(latencies),
        "client_cpu_us_per_row": round((client_after - client_before) / written * 1e6, 1),
        "server_cpu_us_per_row": server_cpu,
        "ids_returned": len(ids),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cells = []
    with pg_server(durable=True) as server:
        conn = await asyncpg.connect(server.url)
        version = await conn.fetchval("SHOW server_version")
        await conn.close()
        for sync_commit in ("on", "off"):
            for method in ("copy", "executemany", "unnest"):
                print(f"  {method}, synchronous_commit={sync_commit} ...", file=sys.stderr)
                cells.append(await cell(server, method, sync_commit, args))
    return {"machine": {**machine_facts(), "postgresql": version, "asyncpg": asyncpg.__version__},
            "params": {"seconds": args.seconds, "producers": args.producers, "pool": args.pool},
            "cells": cells}


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.2f}" if v < 10 else f"{v:.0f}")


def render(result: dict[str, Any]) -> str:
    labels = {"copy": f"COPY, {COPY_BATCH} rows/batch",
              "executemany": f"executemany, <= {SMALL_BATCH} rows/transaction",
              "unnest": f"INSERT ... unnest RETURNING id, <= {SMALL_BATCH} rows"}
    rows = [[labels[c["method"]], c["synchronous_commit"], f"{c['rows_per_s']:.0f}",
             f"{_ms(c['p50_ms'])} / {_ms(c['p99_ms'])} per {c['latency_of']}",
             f"{c['client_cpu_us_per_row']:.0f}",
             "-" if c["server_cpu_us_per_row"] is None else f"{c['server_cpu_us_per_row']:.0f}",
             f"{c['rows_per_write']:g}", "yes" if c["ids_returned"] else "no"]
            for c in result["cells"]]
    p = result["params"]
    m = result["machine"]
    return (table(["method", "sync commit", "rows/s", "wait p50 / p99 ms", "client CPU us/row",
                   "server CPU us/row", "rows/write", "ids to callers"], rows)
            + f"\n{p['producers']} producers, pool of {p['pool']}, {p['seconds']:g} s a cell; "
            f"PostgreSQL {m['postgresql']} (fsync on), asyncpg {m['asyncpg']}, "
            f"{m['cores']} cores shared by client and server")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--producers", type=int, default=100)
    parser.add_argument("--pool", type=int, default=4, help="connections (and writers)")
    parser.add_argument("--out", type=Path, help="JSON path [bench/results/pg-limits-<time>.json]")
    args = parser.parse_args(argv)
    loop = new_event_loop()
    try:
        result = loop.run_until_complete(run(args))
    finally:
        loop.close()
    print(render(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"pg-limits-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
