"""msglog on PostgreSQL: writes at 100 producers and the mixed load, against COPY's limit.

    python -m bench.pg_writes [--seconds 10] [--producers 100] [--rounds 3]

One throwaway server (tests/pg_server.py, PostgreSQL's defaults: fsync on, synchronous
commit on). Each round, on a fresh database made by `AsyncDatabase.init()` (msglog's schema,
indexes and triggers), in the same run, one after another:

- limit: asyncpg's own `copy_records_to_table` into msglog's message_logs, 1000-row
  batches from 4 tasks: the fastest way in, where nobody waits for one row's id;
- writes: `--producers` tasks each calling add_message_log_async and waiting for its id
  (the batched writer, one transaction per batch);
- mixed: the same writers plus 20 readers of the dashboard's first page.

Prints medians over the rounds and the ratio writes / limit (target >= 0.5), and writes
JSON to bench/results/pg-writes-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import INSERT_COLUMNS, RESULTS, Payloads, latency_summary, machine_facts
from bench.report import table
from bot.eventloop import new_event_loop
from storage import AsyncDatabase, LogFilter, message_logs
from tests.pg_server import fresh_database, pg_server

COLUMNS = tuple(c.strip() for c in INSERT_COLUMNS.split(","))
COPY_BATCH = 1000
COPY_TASKS = 4
READERS = 20
TARGET = 0.5


async def copy_limit(url: str, payloads: Payloads, seconds: float) -> dict[str, Any]:
    pool = await asyncpg.create_pool(url, min_size=COPY_TASKS, max_size=COPY_TASKS)
    counter = iter(range(sys.maxsize))
    written = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()

    async def task() -> None:
        nonlocal written
        while time.perf_counter() < deadline:
            now = int(time.time() * 1000)
            batch = [payloads.row(next(counter), now) for _ in range(COPY_BATCH)]
            async with pool.acquire() as conn:
                await conn.copy_records_to_table("message_logs", records=batch,
                                                 columns=COLUMNS)
            written += len(batch)

    try:
        await asyncio.gather(*(task() for _ in range(COPY_TASKS)))
    finally:
        await pool.close()
    return {"rows_per_s": round(written / (time.perf_counter() - started), 1)}


async def load(url: str, payloads: Payloads, producers: int, readers: int,
               seconds: float) -> dict[str, Any]:
    acks: list[float] = []
    reads: list[float] = []
    counter = iter(range(sys.maxsize))
    async with AsyncDatabase(url) as db:
        deadline = time.perf_counter() + seconds
        started = time.perf_counter()

        async def writer() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                await db.add_message_log_async(*payloads.args(next(counter)))
                acks.append(time.perf_counter() - t0)

        async def reader() -> None:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                await message_logs.page(db, LogFilter(), 50)
                reads.append(time.perf_counter() - t0)

        await asyncio.gather(*(writer() for _ in range(producers)),
                             *(reader() for _ in range(readers)))
        elapsed = time.perf_counter() - started
        batches = db.stats()["writer"]
    return {
        "writes_per_s": round(len(acks) / elapsed, 1),
        "reads_per_s": round(len(reads) / elapsed, 1) if readers else None,
        "ack": latency_summary(acks),
        "read": latency_summary(reads) if readers else None,
        "writer": batches,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rounds: list[dict[str, Any]] = []
    with pg_server(durable=True) as server:
        conn = await asyncpg.connect(server.url)
        version = await conn.fetchval("SHOW server_version")
        await conn.close()
        for n in range(args.rounds):
            cells: dict[str, Any] = {}
            for name in ("limit", "writes", "mixed"):
                print(f"  round {n + 1}: {name} ...", file=sys.stderr)
                async with fresh_database(server.url) as url:
                    async with AsyncDatabase(url):
                        pass  # msglog's schema, as every cell writes into it
                    payloads = Payloads(f"r{n}{name}")
                    if name == "limit":
                        cells[name] = await copy_limit(url, payloads, args.seconds)
                    else:
                        readers = READERS if name == "mixed" else 0
                        cells[name] = await load(url, payloads, args.producers, readers,
                                                 args.seconds)
            cells["ratio"] = round(cells["writes"]["writes_per_s"] / cells["limit"]["rows_per_s"],
                                   3)
            rounds.append(cells)
    ratio = statistics.median(r["ratio"] for r in rounds)
    return {
        "machine": {**machine_facts(), "postgresql": version, "asyncpg": asyncpg.__version__},
        "params": {"seconds": args.seconds, "producers": args.producers,
                   "rounds": args.rounds, "readers": READERS},
        "rounds": rounds,
        "median": {
            "limit_rows_per_s": statistics.median(r["limit"]["rows_per_s"] for r in rounds),
            "writes_per_s": statistics.median(r["writes"]["writes_per_s"] for r in rounds),
            "mixed_writes_per_s": statistics.median(r["mixed"]["writes_per_s"] for r in rounds),
            "mixed_reads_per_s": statistics.median(r["mixed"]["reads_per_s"] for r in rounds),
            "ratio": ratio,
        },
        "target": {"ratio_at_least": TARGET, "pass": ratio >= TARGET},
    }


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def render(result: dict[str, Any]) -> str:
    rows = []
    for n, r in enumerate(result["rounds"], 1):
        w, m = r["writes"], r["mixed"]
        rows.append([str(n), f"{r['limit']['rows_per_s']:.0f}", f"{w['writes_per_s']:.0f}",
                     f"{_ms(w['ack']['p50_ms'])} / {_ms(w['ack']['p99_ms'])}",
                     f"{r['ratio']:.2f}", f"{m['writes_per_s']:.0f}", f"{m['reads_per_s']:.0f}",
                     f"{_ms(m['read']['p50_ms'])} / {_ms(m['read']['p99_ms'])}"])
    med = result["median"]
    rows.append(["median", f"{med['limit_rows_per_s']:.0f}", f"{med['writes_per_s']:.0f}", "",
                 f"{med['ratio']:.2f}", f"{med['mixed_writes_per_s']:.0f}",
                 f"{med['mixed_reads_per_s']:.0f}", ""])
    p, m = result["params"], result["machine"]
    verdict = "PASS" if result["target"]["pass"] else "FAIL"
    return (table(["round", "COPY limit rows/s", f"writes/s @{p['producers']}",
                   "ack p50 / p99 ms", "ratio", "mixed writes/s", f"reads/s ({p['readers']})",
                   "read p50 / p99 ms"], rows)
            + f"\nratio writes/limit {med['ratio']:.2f} (target >= {TARGET}): {verdict}; "
            f"{p['seconds']:g} s a cell; PostgreSQL {m['postgresql']} (fsync on), asyncpg "
            f"{m['asyncpg']}, {m['cores']} cores shared by client and server")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--producers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="JSON path [bench/results/pg-writes-<time>.json]")
    args = parser.parse_args(argv)
    loop = new_event_loop()
    try:
        result = loop.run_until_complete(run(args))
    finally:
        loop.close()
    print(render(result))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = args.out or RESULTS / f"pg-writes-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
