"""Shared bench helpers: percentiles, message payloads, fresh databases, machine facts."""

from __future__ import annotations

import asyncio
import os
import platform
import random
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import aiosqlite

from storage import AsyncDatabase
from storage.message_logs import UPSERT
from storage.sqlite.schema import FTS_CATCH_UP
from storage.sqlite.stats_rollup import FOLD

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

PLATFORMS = ("telegram", "discord", "qq")
WORDS = (
    "forward relay message channel bridge webhook retry timeout delivered queue "
    "server update photo video sticker reply thread guild voice status error ok "
    "please check the log again tomorrow meeting notes release build deploy"
).split()
CJK = (
    "消息 转发 失败 成功 频道 服务器 今天 明天 晚上 会议 通知 更新 图片 视频 "
    "请查看 已发送 重试 超时 网络 异常 大家好 收到 谢谢 文件"
).split()

# Column order of storage.message_logs.UPSERT's row (key columns first).
INSERT_COLUMNS = (
    "kook_message_id, target_platform, target_channel, kook_channel_id, content, "
    "message_type, sender_name, status, error_message, latency_ms, created_at, updated_at"
)
PLAIN_HEAD = f"INSERT INTO message_logs ({INSERT_COLUMNS}) VALUES "
PLAIN_ROW = UPSERT.row


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def latency_summary(seconds: list[float]) -> dict[str, float | None]:
    """p50/p95/p99/max in milliseconds."""
    ms = [s * 1000 for s in seconds]

    def r(v: float | None) -> float | None:
        return None if v is None else round(v, 3)

    return {
        "p50_ms": r(percentile(ms, 50)),
        "p95_ms": r(percentile(ms, 95)),
        "p99_ms": r(percentile(ms, 99)),
        "max_ms": r(max(ms) if ms else None),
    }


def text_of_bytes(rng: random.Random, size: int) -> str:
    """Mixed English/Chinese text of `size` UTF-8 bytes (a cut CJK char may drop 1-2)."""
    parts: list[str] = []
    used = 0
    while used < size:
        word = rng.choice(CJK) if rng.random() < 0.3 else rng.choice(WORDS)
        piece = word + " "
        used += len(piece.encode())
        parts.append(piece)
    return "".join(parts).encode()[:size].decode(errors="ignore")


class Payloads:
    """200-byte messages with distinct ids; contents cycle through a varied pool."""

    def __init__(self, tag: str, size: int = 200, pool: int = 1000) -> None:
        rng = random.Random(tag)
        self.tag = tag
        self.contents = [text_of_bytes(rng, size) for _ in range(pool)]
        self.senders = [f"user{n}" for n in range(200)]

    def args(self, i: int) -> tuple[Any, ...]:
        """Positional arguments of add_message_log_async for message number `i`."""
        return (
            f"{self.tag}-{i}",
            f"chan{i % 50}",
            self.contents[i % len(self.contents)],
            "1",
            self.senders[i % len(self.senders)],
            PLATFORMS[i % 2],
            f"-100{i % 7}",
            "success",
            None,
            100 + i % 400,
        )

    def row(self, i: int, now_ms: int) -> tuple[Any, ...]:
        """The same message as a row in UPSERT/INSERT column order."""
        mid, chan, content, mtype, sender, plat, tchan, status, err, lat = self.args(i)
        return (mid, plat, tchan, chan, content, mtype, sender, status, err, lat, now_ms, now_ms)


def fresh_db(path: Path) -> None:
    """Create an empty database exactly as AsyncDatabase.init() does, then close it."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)

    async def make() -> None:
        db = AsyncDatabase(path)
        await db.init()
        await db.close()

    asyncio.run(make())


def plain_connect(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 writer with the same durability pragmas as AsyncDatabase's."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def insert_rows(conn: sqlite3.Connection, rows: list[tuple[Any, ...]], per_stmt: int) -> None:
    """Multi-row INSERTs of `per_stmt` rows each (caller owns the transaction)."""
    for lo in range(0, len(rows), per_stmt):
        chunk = rows[lo : lo + per_stmt]
        sql = PLAIN_HEAD + ",".join([PLAIN_ROW] * len(chunk))
        conn.execute(sql, [v for row in chunk for v in row])


def index_new_rows(conn: sqlite3.Connection) -> None:
    """What our schema needs for new rows to be searchable, in the caller's transaction.

    The schema leaves full-text indexing to the writer's catch-up (storage/fts_tail.py,
    every CHUNK_ROWS rows); a plain-sqlite3 baseline that skipped it would be measuring
    less work than we do.
    """
    for sql in (*FTS_CATCH_UP, *FOLD):
        conn.execute(sql)


def wal_bytes(path: Path) -> int:
    try:
        return os.stat(str(path) + "-wal").st_size
    except FileNotFoundError:
        return 0


def machine_facts() -> dict[str, Any]:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "sqlite": sqlite3.sqlite_version,
        "aiosqlite": getattr(aiosqlite, "__version__", "?"),
        "platform": platform.platform(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
