"""Queries-at-scale cell: the dashboard's queries through AsyncDatabase on a big database."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.routes.stats import RANGES as STATS_RANGES
from storage import AsyncDatabase, LogFilter
from storage import message_logs as logs

from . import dataset
from .common import latency_summary

DAY = 86_400_000
# A slow query is timed at least 5 times, then only while its budget lasts.
CASE_BUDGET_S = 8.0
Query = Callable[[AsyncDatabase], Awaitable[Any]]


@dataclass(frozen=True)
class Case:
    name: str
    group: str  # "page" (target 20 ms), "search" or "stats" (target 100 ms)
    run: Query


def _page(filt: LogFilter, before_id: int | None = None) -> Query:
    async def run(db: AsyncDatabase) -> Any:
        return await logs.page(db, filt, 50, before_id)

    return run


def _context(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    end = conn.execute("SELECT max(created_at) FROM message_logs").fetchone()[0]
    newest = conn.execute("SELECT max(id) FROM message_logs").fetchone()[0]
    conn.close()
    return {"end": end, "newest": newest}


def _stats(filt: LogFilter, since: int, end: int, bucket: int) -> Query | None:
    """The dashboard's stats query (storage.log_stats.summary, as GET /api/stats calls it)."""
    try:
        from storage import log_stats
    except ImportError:
        return None

    async def run(db: AsyncDatabase) -> Any:
        return await log_stats.summary(db, filt, since, end, bucket)

    return run


def cases(ctx: dict[str, Any]) -> list[Case]:
    end, deep = ctx["end"], 20_000
    pop_chan, rare_chan = dataset.channel_id(0), dataset.channel_id(dataset.CHANNELS - 1)
    pop_sender, rare_sender = dataset.sender_name(0), dataset.sender_name(dataset.SENDERS - 1)
    p = "page"
    out = [
        Case("first page (newest first)", p, _page(LogFilter())),
        Case("status=failed", p, _page(LogFilter(status="failed"))),
        Case("status=received", p, _page(LogFilter(status="received"))),
        Case("platform=qq", p, _page(LogFilter(platform="qq"))),
        Case("channel=popular", p, _page(LogFilter(channel=pop_chan))),
        Case("channel=rare", p, _page(LogFilter(channel=rare_chan))),
        Case("sender=popular", p, _page(LogFilter(sender=pop_sender))),
        Case("sender=rare", p, _page(LogFilter(sender=rare_sender))),
        Case("since=24h ago", p, _page(LogFilter(since_ms=end - DAY))),
        Case("until=7d ago", p, _page(LogFilter(until_ms=end - 7 * DAY))),
        Case("since..until (1 day, 15d ago)", p,
             _page(LogFilter(since_ms=end - 15 * DAY, until_ms=end - 14 * DAY))),
        Case("status=failed & platform=discord", p,
             _page(LogFilter(status="failed", platform="discord"))),
        Case("platform=telegram & channel=popular", p,
             _page(LogFilter(platform="telegram", channel=pop_chan))),
        Case("status=failed & since=24h", p, _page(LogFilter(status="failed", since_ms=end - DAY))),
        Case("channel=popular & sender=popular", p,
             _page(LogFilter(channel=pop_chan, sender=pop_sender))),
        Case("status=pending & channel=rare", p,
             _page(LogFilter(status="pending", channel=rare_chan))),
        Case("failed & qq & 7d..1d ago", p, _page(LogFilter(
            status="failed", platform="qq", since_ms=end - 7 * DAY, until_ms=end - DAY))),
        Case("keyset deep (before_id=20000)", p, _page(LogFilter(), deep)),
        Case("keyset deep & status=failed", p, _page(LogFilter(status="failed"), deep)),
        Case("keyset page 2", p, _page(LogFilter(), ctx["newest"] - 50)),
        Case("get by id", p, lambda db: logs.get(db, deep)),
        Case("search 'timeout' (common English)", "search", _page(LogFilter(q="timeout"))),
        Case(f"search '{dataset.RARE_WORD}' (rare English)", "search",
             _page(LogFilter(q=dataset.RARE_WORD))),
        Case("search '服务器' (Chinese word)", "search", _page(LogFilter(q="服务器"))),
        Case("search '转发' (2 chars: LIKE fallback)", "search", _page(LogFilter(q="转发"))),
        Case("search 'ok' (2 chars English: LIKE fallback)", "search", _page(LogFilter(q="ok"))),
        Case("search 'timeout 服务器' (two terms)", "search",
             _page(LogFilter(q="timeout 服务器"))),
        Case("search '服务器' & status=failed", "search",
             _page(LogFilter(q="服务器", status="failed"))),
        Case("search 'timeout' & channel=rare", "search",
             _page(LogFilter(q="timeout", channel=rare_chan))),
    ]
    # The ranges and buckets GET /api/stats uses.
    for label, (span, bucket) in STATS_RANGES.items():
        for suffix, filt in (("", LogFilter()), (" & platform=qq", LogFilter(platform="qq"))):
            stats = _stats(filt, end - span, end, bucket)
            if stats is not None:
                out.append(Case(f"stats {label}{suffix}", "stats", stats))
    return out


async def _measure(path: Path, repeats: int) -> dict[str, Any]:
    ctx = _context(path)
    db = AsyncDatabase(path)
    await db.init()
    results: list[dict[str, Any]] = []
    try:
        for case in cases(ctx):
            try:
                for _ in range(2):  # warm the page cache and the pool
                    result = await case.run(db)
                times: list[float] = []
                budget = time.perf_counter() + CASE_BUDGET_S
                while len(times) < repeats and (len(times) < 5 or time.perf_counter() < budget):
                    t0 = time.perf_counter()
                    result = await case.run(db)
                    times.append(time.perf_counter() - t0)
            except Exception as exc:
                results.append({"name": case.name, "group": case.group, "error": repr(exc)})
                continue
            rows = len(result[0]) if isinstance(result, tuple) else None
            results.append({"name": case.name, "group": case.group, "rows": rows,
                            "runs": len(times), **latency_summary(times)})
    finally:
        await db.close()
    return {"cases": results, "stats_function": any(c["group"] == "stats" for c in results)}


def queries_cell(params: dict[str, Any], workdir: Path) -> dict[str, Any]:
    path, info = dataset.ensure(params["rows"])
    out = asyncio.run(_measure(path, params["repeats"]))
    out["dataset"] = info
    out["rows"] = params["rows"]
    out["file_bytes"] = os.path.getsize(path)
    return out
