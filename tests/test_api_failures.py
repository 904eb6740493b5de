"""GET /api/failures: failed rows grouped by error message, through the HTTP interface."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from apihelp import error_of, message, post

from bot import keys
from storage import AsyncDatabase, LogFilter
from storage.failures import FAILURE_STATUSES, _query
from storage.timeutil import now_ms

pytestmark = pytest.mark.engines("sqlite", "postgres")

HOUR_MS = 3_600_000
TIMEOUT = "timeout after 10000 ms"
FORBIDDEN = "discord: 403 Missing Access"


async def _age(client: Any, row_id: int, hours: float) -> None:
    """Back-date a row: the API stamps rows with the time they were written."""
    created = now_ms() - int(hours * HOUR_MS)
    await client.app[keys.DB].execute_write(
        "UPDATE message_logs SET created_at = ?, updated_at = ? WHERE id = ?",
        (created, created, row_id),
    )


async def _seed(client: Any) -> dict[str, int]:
    rows = [
        message(1, status="failed", error_message=TIMEOUT, target_channel="tg-1"),
        message(2, status="failed", error_message=TIMEOUT, target_channel="tg-2"),
        message(3, status="failed", error_message=TIMEOUT, target_channel="tg-1"),
        message(
            4, status="failed", error_message=FORBIDDEN, target_platform="discord",
            target_channel="dc-9",
        ),
        message(5, status="success"),
        message(6, status="pending"),
        message(7, status="failed", error_message=None, kook_channel_id="chan-2"),
        message(8, status="failed", error_message=TIMEOUT, content="too old"),
    ]
    ids = await post(client, rows)
    ages = {ids[0]: 5, ids[1]: 3, ids[2]: 1, ids[3]: 0.5, ids[6]: 2, ids[7]: 30}
    for row_id, hours in ages.items():
        await _age(client, row_id, hours)
    return {"newest_timeout": ids[2], "forbidden": ids[3]}


async def _get(client: Any, **params: str) -> dict[str, Any]:
    resp = await client.get("/api/failures", params=params)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def test_groups_failed_rows_by_error_with_count_last_seen_and_targets(client: Any) -> None:
    await _seed(client)
    body = await _get(client)
    assert body["statuses"] == list(FAILURE_STATUSES)
    assert body["total"] == 5
    groups = body["groups"]
    # Equal counts: the newer failure first (the 403 half an hour ago, the other 2 h ago).
    assert [(g["error_message"], g["count"]) for g in groups] == [
        (TIMEOUT, 3), (FORBIDDEN, 1), (None, 1),
    ]
    timeout = groups[0]
    assert timeout["target_count"] == 2
    assert timeout["targets"] == [
        {"platform": "telegram", "channel": "tg-1", "count": 2},
        {"platform": "telegram", "channel": "tg-2", "count": 1},
    ]
    rows = (await (await client.get("/api/messages?status=failed&limit=500")).json())["items"]
    newest = max(r["created_at"] for r in rows if r["error_message"] == TIMEOUT
                 and r["content"] != "too old")
    assert timeout["last_seen"] == newest


async def test_range_leaves_out_older_failures(client: Any) -> None:
    await _seed(client)
    day = await _get(client, range="24h")
    week = await _get(client, range="7d")
    assert day["total"] == 5
    assert week["total"] == 6
    assert (week["groups"][0]["error_message"], week["groups"][0]["count"]) == (TIMEOUT, 4)


async def test_order_by_last_seen_puts_the_newest_failure_first(client: Any) -> None:
    await _seed(client)
    body = await _get(client, order="last_seen")
    assert [g["error_message"] for g in body["groups"]] == [FORBIDDEN, TIMEOUT, None]


async def test_listing_filters_narrow_the_groups(client: Any) -> None:
    await _seed(client)
    discord = await _get(client, platform="DISCORD")
    assert [(g["error_message"], g["count"]) for g in discord["groups"]] == [(FORBIDDEN, 1)]
    searched = await _get(client, q="timeout")
    assert [(g["error_message"], g["count"]) for g in searched["groups"]] == [(TIMEOUT, 3)]
    channel = await _get(client, channel="chan-2")
    assert [g["error_message"] for g in channel["groups"]] == [None]


async def test_since_and_until_narrow_the_range(client: Any) -> None:
    await _seed(client)
    now = now_ms()
    since = _iso(now - 4 * HOUR_MS)
    until = _iso(now - 90 * 60_000)
    body = await _get(client, since=since, until=until)
    # Inside the window: the timeouts 3 h ago and the unnamed failure 2 h ago.
    assert sorted((g["error_message"] or "", g["count"]) for g in body["groups"]) == [
        ("", 1), (TIMEOUT, 1),
    ]


async def test_a_status_that_is_not_a_failure_gives_no_groups(client: Any) -> None:
    await _seed(client)
    body = await _get(client, status="success")
    assert (body["statuses"], body["total"], body["groups"]) == ([], 0, [])
    assert (await _get(client, status="failed"))["total"] == 5


async def test_limit_bounds_the_groups(client: Any) -> None:
    await post(client, [message(n, status="failed", error_message=f"error {n}") for n in range(8)])
    body = await _get(client, limit="3")
    assert len(body["groups"]) == 3
    assert body["total"] == 8


@pytest.mark.parametrize(
    "params",
    [{"limit": "0"}, {"limit": "101"}, {"order": "size"}, {"range": "2d"}, {"nope": "1"}],
)
async def test_invalid_query_is_a_422(client: Any, params: dict[str, str]) -> None:
    await error_of(await client.get("/api/failures", params=params), 422)


def _iso(ms: int) -> str:
    from storage.timeutil import ms_to_iso

    text = ms_to_iso(ms)
    assert text is not None
    return text


# SQLite's EXPLAIN QUERY PLAN on the file.
@pytest.mark.engines("sqlite")
@pytest.mark.parametrize(
    "extra",
    [{}, {"platform": "telegram"}, {"channel": "c"}, {"sender": "s"}, {"status": "failed"}],
)
async def test_query_reads_an_index_never_the_whole_table(
    db_path: Path, extra: dict[str, str]
) -> None:
    async with AsyncDatabase(db_path) as db:
        dialect = db.dialect
    filt = LogFilter(since_ms=0, until_ms=HOUR_MS, **extra)
    sql, params = _query(dialect, filt, FAILURE_STATUSES)
    with sqlite3.connect(db_path) as conn:
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    assert any("USING INDEX ix_logs_" in step for step in plan), plan
    assert not any(step.startswith("SCAN m") for step in plan), plan
