"""The live tail: rows the writer changed, fanned out to bounded per-client queues."""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from storage import AsyncDatabase, StorageError, message_logs

log = structlog.get_logger("msglog.live")

CLIENT_BUFFER = 256


class Subscriber:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=CLIENT_BUFFER)
        self.dropped = False
        # Why it was dropped: "overflow" (fell behind) or "error" (a read failed).
        self.reason = "overflow"


class ChangeHub:
    """One read per burst of changes, however many clients listen; slow ones are dropped."""

    def __init__(self, db: AsyncDatabase) -> None:
        self._db = db
        self._subscribers: set[Subscriber] = set()
        self._pending: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self.closed = False
        db.add_change_listener(self._on_change)

    def close(self) -> None:
        self.closed = True
        self._db.remove_change_listener(self._on_change)
        for sub in self._subscribers:
            sub.dropped = True
        if self._task is not None:
            self._task.cancel()

    def subscribe(self) -> Subscriber:
        sub = Subscriber()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _on_change(self, ids: list[int]) -> None:
        if not self._subscribers:
            return
        self._pending.update(ids)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._publish())

    async def _publish(self) -> None:
        # Let the rest of the batch's callers report their ids first: one read per batch.
        await asyncio.sleep(0)
        while self._pending:
            ids = sorted(self._pending)[:500]
            self._pending.difference_update(ids)
            try:
                rows = await message_logs.by_ids(self._db, ids)
            except StorageError as exc:
                # These rows never reach the listeners: drop them all, visibly, and let
                # each reconnect replay from its last id (Last-Event-ID).
                log.error("live_tail_read_failed", error=str(exc), rows_lost_here=len(ids),
                          subscribers=len(self._subscribers))
                self._pending.clear()
                for sub in self._subscribers:
                    sub.dropped, sub.reason = True, "error"
                self._subscribers.clear()
                return
            for sub in list(self._subscribers):
                for row in rows:
                    try:
                        sub.queue.put_nowait(row)
                    except asyncio.QueueFull:
                        # The writer never waits for a slow reader: drop the reader.
                        sub.dropped = True
                        self._subscribers.discard(sub)
                        break
