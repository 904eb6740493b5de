"""POST/GET/PATCH /api/messages through the HTTP interface."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from apihelp import error_of, message, post

from bot import keys

pytestmark = pytest.mark.engines("sqlite", "postgres")


async def test_post_one_message_is_committed_before_201(client: Any) -> None:
    [row_id] = await post(client, message(1))
    db = client.app[keys.DB]
    row = await db.execute_one("SELECT kook_message_id FROM message_logs WHERE id = ?", (row_id,))
    assert row == {"kook_message_id": "m-1"}


async def test_post_a_list_returns_ids_in_order(client: Any) -> None:
    ids = await post(client, [message(n) for n in range(20)])
    resp = await client.get("/api/messages", params={"limit": "500"})
    items = (await resp.json())["items"]
    by_id = {item["id"]: item["kook_message_id"] for item in items}
    assert [by_id[i] for i in ids] == [f"m-{n}" for n in range(20)]


async def test_reposting_the_same_target_updates_instead_of_duplicating(client: Any) -> None:
    [first] = await post(client, message(1, status="failed", error_message="timeout"))
    [second] = await post(client, message(1, status="success"))
    assert first == second
    resp = await client.get(f"/api/messages/{first}")
    row = await resp.json()
    assert (row["status"], row["attempts"], row["error_message"]) == ("success", 2, None)


async def test_numeric_ids_are_accepted_as_text(client: Any) -> None:
    [row_id] = await post(client, message(1, kook_message_id=12345, kook_channel_id=678))
    row = await (await client.get(f"/api/messages/{row_id}")).json()
    assert (row["kook_message_id"], row["kook_channel_id"]) == ("12345", "678")


async def test_get_one_message_and_404(client: Any) -> None:
    [row_id] = await post(client, message(1))
    resp = await client.get(f"/api/messages/{row_id}")
    assert resp.status == 200
    assert (await resp.json())["content"] == "hello number 1"
    await error_of(await client.get("/api/messages/999999"), 404)
    await error_of(await client.get("/api/messages/99999999999999999999999999"), 404)


async def test_patch_records_a_retry_outcome(client: Any) -> None:
    [row_id] = await post(client, message(1, status="failed", error_message="boom"))
    resp = await client.patch(
        f"/api/messages/{row_id}", json={"status": "success", "latency_ms": 99}
    )
    assert resp.status == 200
    row = await resp.json()
    assert (row["status"], row["latency_ms"], row["attempts"]) == ("success", 99, 2)


async def test_patch_unknown_message_is_404(client: Any) -> None:
    await error_of(await client.patch("/api/messages/424242", json={"status": "failed"}), 404)


async def test_patch_with_no_fields_is_422(client: Any) -> None:
    [row_id] = await post(client, message(1))
    await error_of(await client.patch(f"/api/messages/{row_id}", json={}), 422)


async def test_list_is_newest_first_with_next_cursor(client: Any) -> None:
    ids = await post(client, [message(n) for n in range(5)])
    resp = await client.get("/api/messages", params={"limit": "3"})
    body = await resp.json()
    assert [i["id"] for i in body["items"]] == sorted(ids, reverse=True)[:3]
    assert body["next_before_id"] == body["items"][-1]["id"]


async def test_keyset_pagination_visits_every_row_once(client: Any) -> None:
    for chunk in range(3):
        await post(client, [message(f"{chunk}-{n}") for n in range(79)])
    seen: list[int] = []
    before = None
    while True:
        params = {"limit": "50"}
        if before is not None:
            params["before_id"] = str(before)
        body = await (await client.get("/api/messages", params=params)).json()
        seen.extend(item["id"] for item in body["items"])
        before = body["next_before_id"]
        if before is None:
            break
    assert len(seen) == 237
    assert len(set(seen)) == 237


async def test_each_filter_narrows_the_rows(client: Any) -> None:
    await post(
        client,
        [
            message(1, status="failed", target_platform="discord"),
            message(2, status="success", kook_channel_id="chan-2"),
            message(3, sender_name="bob"),
            message(4, content="unrelated words"),
        ],
    )
    cases = {
        "status=failed": ["m-1"],
        "platform=discord": ["m-1"],
        "channel=chan-2": ["m-2"],
        "sender=bob": ["m-3"],
        "q=unrelated": ["m-4"],
        "status=success&platform=telegram&channel=chan-1": ["m-4", "m-3"],
    }
    for query, expected in cases.items():
        body = await (await client.get(f"/api/messages?{query}")).json()
        assert [i["kook_message_id"] for i in body["items"]] == expected, query


async def test_time_range_filters(client: Any) -> None:
    await post(client, message(1))
    now = (await (await client.get("/api/messages")).json())["items"][0]["created_at"]
    hit = await client.get("/api/messages", params={"since": "2020-01-01T00:00:00Z"})
    assert len((await hit.json())["items"]) == 1
    miss = await client.get("/api/messages", params={"until": "2020-01-01T00:00:00Z"})
    assert (await miss.json())["items"] == []
    exact = await client.get("/api/messages", params={"since": now})
    assert len((await exact.json())["items"]) == 1


async def test_search_finds_chinese_and_english_inside_sentences(
    client: Any, engine: str
) -> None:
    await post(
        client,
        [
            message(1, content="消息转发失败了"),
            message(2, content="the forwarding failed badly"),
            message(3, content="nothing here"),
        ],
    )
    # On SQLite, searched through the full-text index, not the unindexed tail's LIKE: the
    # writer indexes the tail once it has waited a second. (PostgreSQL has no such tail.)
    db = client.app[keys.DB]
    async with asyncio.timeout(10):
        while engine == "sqlite" and db.stats()["writer"]["fts_tail"]["tail_rows_at_most"]:
            await asyncio.sleep(0.05)
    for q, expected in [("转发", ["m-1"]), ("转发失败", ["m-1"]), ("forwarding", ["m-2"]),
                        ("FAILED", ["m-2"]), ("ly", ["m-2"])]:
        body = await (await client.get("/api/messages", params={"q": q})).json()
        assert [i["kook_message_id"] for i in body["items"]] == expected, q


async def test_search_with_query_syntax_is_plain_text(client: Any) -> None:
    await post(client, message(1, content='say "NEAR(a b)" OR * -x ^ AND'))
    for q in ['"', "NEAR(", "a OR b", "*", "'; DROP TABLE message_logs; --", "^x", "(", "-"]:
        resp = await client.get("/api/messages", params={"q": q})
        assert resp.status == 200, q
    body = await (await client.get("/api/messages", params={"q": '"NEAR(a b)"'})).json()
    assert len(body["items"]) == 1


async def test_patch_to_success_clears_the_old_error(client: Any) -> None:
    [row_id] = await post(client, message("retry", status="failed", error_message="timeout"))
    resp = await client.patch(f"/api/messages/{row_id}", json={"status": "success"})
    assert resp.status == 200
    assert (await resp.json())["error_message"] is None


async def test_patch_to_success_keeps_an_error_message_given_with_it(client: Any) -> None:
    [row_id] = await post(client, message("retry2", status="failed", error_message="timeout"))
    resp = await client.patch(f"/api/messages/{row_id}",
                              json={"status": "success", "error_message": "slow, then ok"})
    assert (await resp.json())["error_message"] == "slow, then ok"


async def test_patch_to_failed_keeps_the_error_until_told_otherwise(client: Any) -> None:
    [row_id] = await post(client, message("retry3", status="failed", error_message="timeout"))
    resp = await client.patch(f"/api/messages/{row_id}", json={"status": "failed"})
    assert (await resp.json())["error_message"] == "timeout"
