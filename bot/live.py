"""The live tail: the database's change log, read once and fanned out to every client."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import structlog

from storage import AsyncDatabase, StorageError, message_logs

log = structlog.get_logger("msglog.live")

CLIENT_BUFFER = 256
# Writes by this process wake the tail at once; writes from anywhere else (an import,
# another msglog on the file) are found by looking at the change log this often.
POLL_SECONDS = 0.25
FETCH_ROWS = 500

Change = tuple[int, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RowMatch:
    """The listing's filters, applied to one row as the live tail sees it."""

    status: str | None = None
    platform: str | None = None
    channel: str | None = None
    sender: str | None = None
    q: str | None = None

    def __call__(self, row: dict[str, Any]) -> bool:
        if self.status is not None and row["status"] != self.status:
            return False
        if self.channel is not None and row["kook_channel_id"] != self.channel:
            return False
        if self.platform is not None and not _same(row["target_platform"], self.platform):
            return False
        if self.sender is not None and not _same(row["sender_name"], self.sender):
            return False
        if self.q:
            # As the search does: every term somewhere in content, sender or error.
            text = "\n".join(
                (row[c] or "") for c in ("content", "sender_name", "error_message")
            ).casefold()
            return all(term.casefold() in text for term in self.q.split())
        return True


def _same(value: str | None, wanted: str) -> bool:
    return value is not None and value.casefold() == wanted.casefold()


class Subscriber:
    def __init__(self, match: RowMatch, start_seq: int) -> None:
        self.match = match
        # Changes after this number come through the queue; earlier ones are a replay.
        self.start_seq = start_seq
        self.queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=CLIENT_BUFFER)
        self.dropped = False
        # Why it was dropped: "overflow" (fell behind) or "error" (a read failed).
        self.reason = "overflow"


class ChangeHub:
    """One read of the change log per wake-up, however many clients listen."""

    def __init__(self, db: AsyncDatabase, poll_seconds: float = POLL_SECONDS) -> None:
        self._db = db
        self._poll = poll_seconds
        self._subscribers: set[Subscriber] = set()
        self._seq = 0
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
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

    async def subscribe(self, match: RowMatch) -> Subscriber:
        """A client that gets every matching change committed from now on."""
        async with self._lock:
            if self._task is None or self._task.done():
                self._seq = (await message_logs.change_log(self._db)).latest
                self._task = asyncio.get_running_loop().create_task(
                    self._follow(), name="msglog-live-tail"
                )
            sub = Subscriber(match, self._seq)
            self._subscribers.add(sub)
            return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _on_change(self, ids: list[int]) -> None:
        self._wake.set()

    async def _follow(self) -> None:
        # Ends when the last client leaves; the next subscribe starts it again.
        while self._subscribers and not self.closed:
            self._wake.clear()  # before the read: a commit during it wakes the next one
            try:
                changes = await message_logs.changes_after(self._db, self._seq, FETCH_ROWS)
            except StorageError as exc:
                self._fail(exc)
                return
            if changes:
                self._seq = changes[-1][0]
                self._deliver(changes)
                if len(changes) == FETCH_ROWS:
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    def _deliver(self, changes: list[Change]) -> None:
        for sub in list(self._subscribers):
            for change in changes:
                if not sub.match(change[1]):
                    continue
                try:
                    sub.queue.put_nowait(change)
                except asyncio.QueueFull:
                    # The tail never waits for a slow client: drop the client.
                    sub.dropped = True
                    self._subscribers.discard(sub)
                    break

    def _fail(self, exc: StorageError) -> None:
        # These changes never reach the clients: drop them all, visibly, and let each
        # reconnect replay from its last event id (Last-Event-ID).
        log.error("live_tail_read_failed", error=str(exc), subscribers=len(self._subscribers))
        for sub in self._subscribers:
            sub.dropped, sub.reason = True, "error"
        self._subscribers.clear()


async def replay(db: AsyncDatabase, sub: Subscriber, last_seq: int) -> list[Change] | None:
    """The matching changes after `last_seq` that the subscription does not bring.

    None: more than a client's buffer, or some of them trimmed from the change log
    already; the client must reload.
    """
    if last_seq >= sub.start_seq:
        return []
    held = await message_logs.change_log(db)
    if held.oldest is None or held.oldest > last_seq + 1:
        return None
    missed: list[Change] = []
    after = last_seq
    while after < sub.start_seq:
        chunk = await message_logs.changes_after(db, after, FETCH_ROWS, up_to=sub.start_seq)
        if not chunk:
            break
        missed.extend(c for c in chunk if sub.match(c[1]))
        if len(missed) > CLIENT_BUFFER:
            return None
        after = chunk[-1][0]
    return missed
