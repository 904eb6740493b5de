"""Every dashboard query is served by an index: EXPLAIN QUERY PLAN of the SQL it really runs.

The domain functions run against a recorder that executes their reads on a small database
created by AsyncDatabase.init() (no ANALYZE, as in production) and keeps every statement;
each SELECT is then explained. A full `SCAN` of message_logs fails the test; only the
unfiltered newest-first page (and the short-term search's bounded window) may walk an
index in order, because they stop at their LIMIT.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage import AsyncDatabase, LogFilter, log_stats
from storage import message_logs as logs
from storage.sqlite.dialect import SqliteDialect, fetch_json, json_rows

DAY = 86_400_000
END = 1_800_000_000_000
ROWS = 3000


class RecordingConnection:
    """A sqlite3 connection that remembers every statement run through `execute`."""

    def __init__(self, conn: sqlite3.Connection, seen: list[tuple[str, Any]]) -> None:
        self._conn = conn
        self._seen = seen

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        self._seen.append((sql, params))
        return self._conn.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class RecordingDb:
    """Stands in for AsyncDatabase's read side: real results, every SQL statement kept."""

    dialect = SqliteDialect()

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.seen: list[tuple[str, Any]] = []

    async def execute_read(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        cur = RecordingConnection(self.conn, self.seen).execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    async def execute_one(self, sql: str, params: Any = ()) -> dict[str, Any] | None:
        rows = await self.execute_read(sql, params)
        return rows[0] if rows else None

    async def read_many(self, statements: Any) -> list[list[dict[str, Any]]]:
        return [await self.execute_read(sql, params) for sql, params in statements]

    async def read_shown(self, sql: str, params: Any, columns: Any, time_columns: set[str],
                         shared: bool = True) -> list[dict[str, Any]]:
        fetch = fetch_json(json_rows(columns, time_columns, sql), params)
        return fetch(RecordingConnection(self.conn, self.seen))  # type: ignore[arg-type]


def _fill(path: Path) -> None:
    rng = random.Random(7)
    words = ["timeout", "forwarded", "server", "消息转发失败了", "服务器", "频道", "ok"]
    rows = []
    for i in range(ROWS):
        created = END - (ROWS - i) * 60_000
        status = rng.choice(["success", "success", "failed", "pending", "received"])
        rows.append((
            f"m{i}", rng.choice(["telegram", "discord"]), f"-100{i % 5}", f"chan{i % 40}",
            " ".join(rng.choices(words, k=4)), "1", f"user{i % 90}", status, None,
            rng.randrange(50, 900), created, created,
        ))
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO message_logs (kook_message_id, target_platform, target_channel, "
        "kook_channel_id, content, message_type, sender_name, status, error_message, "
        "latency_ms, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp("plans") / "messages.db"

    async def create() -> None:
        db = AsyncDatabase(path)
        await db.init()
        await db.close()

    asyncio.run(create())
    _fill(path)
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    yield conn
    conn.close()


Call = Callable[[Any], Awaitable[Any]]


def page(filt: LogFilter, before_id: int | None = None) -> Call:
    return lambda db: logs.page(db, filt, 50, before_id)


def stats(filt: LogFilter, days: int) -> Call:
    return lambda db: log_stats.summary(db, filt, END - days * DAY, END, 3_600_000)


# name -> (call, may walk an index in order because a LIMIT bounds it)
CASES: dict[str, tuple[Call, bool]] = {
    "first page": (page(LogFilter()), True),
    "status": (page(LogFilter(status="failed")), False),
    "platform": (page(LogFilter(platform="discord")), False),
    "channel": (page(LogFilter(channel="chan3")), False),
    "sender": (page(LogFilter(sender="user7")), False),
    "since": (page(LogFilter(since_ms=END - DAY)), False),
    "until": (page(LogFilter(until_ms=END - DAY)), False),
    "since and until": (page(LogFilter(since_ms=END - 2 * DAY, until_ms=END - DAY)), False),
    "status and platform": (page(LogFilter(status="failed", platform="qq")), False),
    "platform and channel": (page(LogFilter(platform="telegram", channel="chan1")), False),
    "channel and sender": (page(LogFilter(channel="chan1", sender="user1")), False),
    "status and since": (page(LogFilter(status="pending", since_ms=END - DAY)), False),
    "four filters": (page(LogFilter(status="failed", platform="discord",
                                    since_ms=END - 2 * DAY, until_ms=END - DAY)), False),
    "keyset page": (page(LogFilter(), 1500), False),
    "keyset page with status": (page(LogFilter(status="success"), 1500), False),
    "keyset page, unknown cursor": (page(LogFilter(), 1_000_000), False),
    "search English": (page(LogFilter(q="timeout")), False),
    "search Chinese": (page(LogFilter(q="服务器")), False),
    "search with status": (page(LogFilter(q="forwarded", status="failed")), False),
    "search two characters": (page(LogFilter(q="转发")), True),
    "get by id": (lambda db: logs.get(db, 42), False),
    "by ids": (lambda db: logs.by_ids(db, [1, 2, 3]), False),
    "older runtime's page": (lambda db: logs.legacy_page(db, 100, 0, "failed", None), False),
    "stats 24h": (stats(LogFilter(), 1), False),
    "stats 30d by platform": (stats(LogFilter(platform="discord"), 30), False),
}

SCAN = re.compile(r"\bSCAN (\S+)(.*)")


def full_scans(plan: list[str], ordered_walk_ok: bool) -> list[str]:
    """Plan lines that read a whole table (or a whole index, unless a LIMIT bounds it)."""
    bad = []
    for line in plan:
        found = SCAN.search(line)
        if found is None:
            continue
        table, rest = found.groups()
        if "VIRTUAL TABLE" in rest:
            if not re.search(r"INDEX \d+:\S*M", rest):  # FTS5 without MATCH reads it all
                bad.append(line)
        elif table in ("m", "message_logs"):
            if not (ordered_walk_ok and re.search(r"USING (COVERING )?INDEX", rest)):
                bad.append(line)
    return bad


def explain(conn: sqlite3.Connection, sql: str, params: Any) -> list[str]:
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


@pytest.mark.parametrize("name", list(CASES))
async def test_dashboard_query_reads_through_an_index(
    small_db: sqlite3.Connection, name: str
) -> None:
    call, ordered_walk_ok = CASES[name]
    recorder = RecordingDb(small_db)
    await call(recorder)
    selects = [(sql, p) for sql, p in recorder.seen if sql.lstrip().upper().startswith("SELECT")]
    assert selects, "the domain function ran no SELECT through the recorder"
    for sql, params in selects:
        plan = explain(small_db, sql, params)
        assert not full_scans(plan, ordered_walk_ok), f"{sql}\n" + "\n".join(plan)


def test_full_scan_detector_flags_an_unindexed_filter(small_db: sqlite3.Connection) -> None:
    plan = explain(small_db, "SELECT id FROM message_logs AS m WHERE m.error_message = ?", ("x",))
    assert full_scans(plan, ordered_walk_ok=False) == [plan[0]]
