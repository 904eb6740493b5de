"""Write scenario cells: producers awaiting each acknowledgement, lone writes, plain limit."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from storage.sqlite.fts_tail import CHUNK_ROWS

from . import designs
from .common import (
    PLAIN_HEAD,
    PLAIN_ROW,
    Payloads,
    fresh_db,
    index_new_rows,
    insert_rows,
    latency_summary,
    plain_connect,
)


async def _producers(
    design: Any, payloads: Payloads, producers: int, writes: int, max_seconds: float,
    hang_timeout: float,
) -> dict[str, Any]:
    latencies: list[float] = []
    counter = iter(range(writes))
    started = time.perf_counter()
    deadline = started + max_seconds
    last_ack = started
    last_ack_at = started

    async def producer() -> None:
        nonlocal last_ack, last_ack_at
        for i in counter:
            t0 = time.perf_counter()
            if t0 >= deadline:
                return
            await design.add(*payloads.args(i))
            t1 = time.perf_counter()
            latencies.append(t1 - t0)
            last_ack = t1
            last_ack_at = t1

    tasks = [asyncio.create_task(producer()) for _ in range(producers)]
    hung = False
    never_acked = 0
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0.05)
        if time.perf_counter() - last_ack_at > hang_timeout:
            # Nothing acknowledged for hang_timeout. With every producer still waiting the
            # design is stuck; once some have finished (the run ended), the writes left
            # waiting were stranded at the end of the load and would never commit.
            waiting = sum(1 for t in tasks if not t.done())
            hung = waiting == len(tasks)
            never_acked = 0 if hung else waiting
            break
    for t in tasks:
        t.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)
              and not isinstance(r, asyncio.CancelledError)]
    if errors:
        raise errors[0]
    elapsed = max(last_ack - started, 1e-9)
    return {
        "acked": len(latencies),
        "elapsed_s": round(elapsed, 3),
        "writes_per_s": round(len(latencies) / elapsed, 1) if latencies else 0.0,
        "hung": hung,
        "never_acked": never_acked,
        "capped_by_time": not hung and len(latencies) + never_acked < writes,
        **latency_summary(latencies),
    }


def hold_foreign_snapshot(path: Path) -> sqlite3.Connection:
    """A reader msglog does not own (a sqlite3 shell, a backup tool): an open snapshot."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM message_logs").fetchone()
    return conn


async def _writes(design_name: str, path: Path, producers: int, writes: int,
                  max_seconds: float, hang_timeout: float,
                  foreign_reader: bool = False) -> dict[str, Any]:
    design = designs.make(design_name, path)
    await design.open()
    payloads = Payloads(f"w{producers}")
    foreign = hold_foreign_snapshot(path) if foreign_reader else None
    try:
        cpu = time.process_time()
        out = await _producers(design, payloads, producers, writes, max_seconds, hang_timeout)
        # CPU time of the whole process (all threads) per write: robust to a busy machine.
        cpu = time.process_time() - cpu
        out["cpu_us_per_write"] = round(cpu / out["acked"] * 1e6, 1) if out["acked"] else None
        out["rows_per_commit"] = design.rows_per_commit()
        if isinstance(design, designs.Ours):
            out["writer_stats"] = design.writer_stats()
            out["wal"] = design.db.stats()["wal"]
    finally:
        if foreign is not None:
            foreign.close()
        await design.close()
    out["foreign_reader"] = foreign_reader
    return out


def writes_cell(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """One design at one producer count on a fresh database."""
    path = workdir / "writes.db"
    fresh_db(path)
    return asyncio.run(_writes(params["design"], path, params["producers"], params["writes"],
                               params["max_seconds"], params["hang_timeout"],
                               params.get("foreign_reader", False)))


def sequential_cell(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """A bot that awaits each log before its next forward: `count` writes in a row."""
    path = workdir / "sequential.db"
    fresh_db(path)

    async def run() -> dict[str, Any]:
        design = designs.make(params["design"], path)
        await design.open()
        payloads = Payloads("seq")
        try:
            out = await _producers(design, payloads, 1, params["count"],
                                   params["max_seconds"], params["hang_timeout"])
        finally:
            await design.close()
        out["count"] = params["count"]
        return out

    return asyncio.run(run())


async def _lone(design_name: str, path: Path, count: int, gap: float,
                hang_timeout: float) -> dict[str, Any]:
    design = designs.make(design_name, path)
    await design.open()
    payloads = Payloads("lone")
    latencies: list[float] = []
    hung = False
    try:
        for i in range(count):
            await asyncio.sleep(gap)  # the writer is idle: this write is alone
            t0 = time.perf_counter()
            try:
                await asyncio.wait_for(design.add(*payloads.args(i)), hang_timeout)
            except TimeoutError:
                hung = True
                break
            latencies.append(time.perf_counter() - t0)
    finally:
        await design.close()
    return {"count": len(latencies), "hung": hung, "hang_timeout_s": hang_timeout,
            **latency_summary(latencies)}


def lone_cell(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Writes issued one at a time into an idle writer."""
    path = workdir / "lone.db"
    fresh_db(path)
    return asyncio.run(_lone(params["design"], path, params["count"], params["gap"],
                             params["hang_timeout"]))


def plain_cell(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    """Plain sqlite3, one thread, 1000 rows a transaction, on our schema: best of two shapes."""
    rows_total = params["rows"]
    per_txn = 1000
    payloads = Payloads("plain")
    out: dict[str, Any] = {"rows": rows_total, "rows_per_transaction": per_txn,
                           "indexed_every": max(per_txn, CHUNK_ROWS)}
    for shape in ("multirow", "executemany"):
        path = workdir / f"plain-{shape}.db"
        fresh_db(path)
        conn = plain_connect(path)
        rows = [payloads.row(i, 1_700_000_000_000 + i) for i in range(rows_total)]
        sql_one = PLAIN_HEAD + PLAIN_ROW
        started = time.perf_counter()
        cpu = time.process_time()
        unindexed = 0
        for lo in range(0, rows_total, per_txn):
            chunk = rows[lo : lo + per_txn]
            conn.execute("BEGIN IMMEDIATE")
            if shape == "multirow":
                # 1000 rows x 12 parameters fits SQLite's 32766-parameter limit.
                insert_rows(conn, chunk, per_txn)
            else:
                conn.executemany(sql_one, chunk)
            # Indexed for search as our writer does it: every CHUNK_ROWS rows.
            unindexed += len(chunk)
            if unindexed >= CHUNK_ROWS or lo + per_txn >= rows_total:
                index_new_rows(conn)
                unindexed = 0
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu
        conn.close()
        out[f"{shape}_rows_per_s"] = round(rows_total / elapsed, 1)
        out[f"{shape}_cpu_us_per_row"] = round(cpu / rows_total * 1e6, 1)
    out["rows_per_s"] = max(out["multirow_rows_per_s"], out["executemany_rows_per_s"])
    out["best"] = ("multirow" if out["multirow_rows_per_s"] >= out["executemany_rows_per_s"]
                   else "executemany")
    return out

