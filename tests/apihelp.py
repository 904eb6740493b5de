"""Small helpers for HTTP tests."""

from __future__ import annotations

from typing import Any


def message(n: int | str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kook_message_id": f"m-{n}",
        "kook_channel_id": "chan-1",
        "content": f"hello number {n}",
        "message_type": "text",
        "sender_name": "alice",
        "target_platform": "telegram",
        "target_channel": "tg-1",
        "status": "success",
        "latency_ms": 250,
    }
    body.update(overrides)
    return body


async def post(client: Any, body: Any) -> list[int]:
    resp = await client.post("/api/messages", json=body)
    assert resp.status == 201, await resp.text()
    ids: list[int] = (await resp.json())["ids"]
    return ids


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    err: dict[str, Any] = body["error"]
    return err


async def stored_rows(client: Any) -> list[dict[str, Any]]:
    """What the database holds, in insertion order (the fields webhooks fill)."""
    from bot import keys

    rows: list[dict[str, Any]] = await client.app[keys.DB].execute_read(
        "SELECT kook_message_id, kook_channel_id, content, message_type, sender_name, "
        "target_platform, target_channel, status, attempts FROM message_logs ORDER BY id"
    )
    return rows
