"""Concurrent HTTP producers for end-to-end tests: what was sent, what was acknowledged."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

# Raised by aiohttp when the server dies or closes a connection mid-request.
CONNECTION_ERRORS = (aiohttp.ClientConnectionError, ConnectionError, asyncio.TimeoutError)


def message(kook_message_id: str, content: str = "load test") -> dict[str, Any]:
    return {
        "kook_message_id": kook_message_id,
        "kook_channel_id": "chan-load",
        "content": content,
        "sender_name": "loadgen",
        "target_platform": "telegram",
        "target_channel": "tg-load",
        "status": "success",
    }


@dataclass
class Ledger:
    """Every request's fate: acknowledged (201 + id), refused (status, headers, body), lost."""

    acked: dict[str, int] = field(default_factory=dict)
    refused: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    connection_errors: int = 0
    in_flight: set[str] = field(default_factory=set)
    sent: int = 0

    async def post(self, session: aiohttp.ClientSession, url: str, kmid: str) -> bool:
        """POST one message; False when the connection failed (server gone)."""
        self.sent += 1
        self.in_flight.add(kmid)
        try:
            async with session.post(url + "/api/messages", json=message(kmid)) as resp:
                body = await resp.json(content_type=None)
                if resp.status == 201:
                    self.acked[kmid] = body["ids"][0]
                else:
                    self.refused.append((resp.status, dict(resp.headers), body))
                return True
        except CONNECTION_ERRORS:
            self.connection_errors += 1
            return False
        finally:
            self.in_flight.discard(kmid)


async def produce_until_stopped(
    session: aiohttp.ClientSession, url: str, ledger: Ledger, worker: int, stop: asyncio.Event
) -> None:
    """One producer: unique ids, one request at a time, until stopped or the server is gone."""
    n = 0
    while not stop.is_set():
        n += 1
        if not await ledger.post(session, url, f"w{worker}-{n}"):
            return


def stored_rows(db_path: Path) -> dict[str, int]:
    """kook_message_id -> id of every stored log (the file read directly, after the run)."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT kook_message_id, id FROM message_logs").fetchall()
    conn.close()
    return {kmid: row_id for kmid, row_id in rows}


def integrity(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
