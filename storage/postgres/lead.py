"""Leads: a job (retention, delivery) that one instance at a time runs, by advisory lock."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any


def lock_key(job: str) -> int:
    """A stable signed 64-bit advisory-lock key for `job` (the same in every instance)."""
    digest = hashlib.blake2b(f"msglog:{job}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class AdvisoryLead:
    """Held while its own session holds the lock: lost when that connection is."""

    def __init__(self, conn: Any, key: int) -> None:
        self._conn = conn
        self._key = key

    @property
    def lost(self) -> bool:
        return bool(self._conn.is_closed())

    async def release(self) -> None:
        # Closing the session releases the lock too; unlock first to say so promptly.
        with contextlib.suppress(Exception):
            await self._conn.execute("SELECT pg_advisory_unlock($1)", self._key)
        with contextlib.suppress(Exception):
            await self._conn.close()


async def try_lead(connect: Callable[[], Awaitable[Any]], job: str) -> AdvisoryLead | None:
    """The lead of `job` if no other session holds it now; None otherwise (never waits)."""
    key = lock_key(job)
    conn = await connect()
    try:
        got = await conn.fetchval("SELECT pg_try_advisory_lock($1)", key)
    except BaseException:
        await conn.close()
        raise
    if not got:
        await conn.close()
        return None
    return AdvisoryLead(conn, key)
