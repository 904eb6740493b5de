"""Webhook deliveries: event ids already handled, and received messages stored once.

Platforms retry a delivery until they get a 200, so the same event can arrive twice,
even concurrently. Two unique keys make that harmless, both enforced by the single
writer: the message row's (source id, '', '') key, which `store_received` inserts with
DO NOTHING, and `webhook_events(source, event_id)`, which `remember` fills only after
the message is committed. A crash between the two leaves the event id unrecorded: the
retry then finds the message key taken and changes nothing, so no delivery is lost.
The message key says "already stored"; an event record (the event number with the
message id, `event_key`) only says "this exact delivery was seen within the window".
"""

from __future__ import annotations

from dataclasses import dataclass

from .interfaces import Store
from .timeutil import now_ms

RECEIVED = "received"

_INSERT_RECEIVED = (
    "INSERT INTO message_logs (kook_message_id, target_platform, target_channel, "
    "kook_channel_id, content, message_type, sender_name, status, created_at, updated_at, "
    "source_platform) VALUES (?, '', '', ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (kook_message_id, target_platform, target_channel) DO NOTHING "
    "RETURNING id"
)

# An edit is not a retry: it replaces the content and leaves attempts and status alone.
_UPSERT_EDIT = (
    "INSERT INTO message_logs (kook_message_id, target_platform, target_channel, "
    "kook_channel_id, content, message_type, sender_name, status, created_at, updated_at, "
    "source_platform) VALUES (?, '', '', ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (kook_message_id, target_platform, target_channel) DO UPDATE SET "
    "content = excluded.content, updated_at = excluded.updated_at "
    "RETURNING id"
)


@dataclass(frozen=True, slots=True)
class Received:
    """A message as a platform delivered it (no forwarding target yet)."""

    source_message_id: str
    channel_id: str
    content: str | None
    message_type: str
    sender_name: str | None
    # The platform that delivered it (bot.platforms); the row's source_platform.
    source_platform: str | None = None

    def params(self) -> tuple[object, ...]:
        now = now_ms()
        return (
            self.source_message_id,
            self.channel_id,
            self.content,
            self.message_type,
            self.sender_name,
            RECEIVED,
            now,
            now,
            self.source_platform,
        )


def event_key(event_id: str, message_id: str | None) -> str:
    """A delivery's identity: the platform's event number *and* the message it carries.

    KOOK numbers events (`sn`) per connection session and starts again after a
    reconnect, and a repeated Telegram `update_id` may carry another message: the number
    alone would drop a new message as a "duplicate" of an old one. An event without a
    message id is known by its number alone (so only within the window).
    """
    return f"{event_id}:{message_id or ''}"


async def seen(db: Store, source: str, key: str, since_ms: int = 0) -> bool:
    """Whether this delivery was handled since `since_ms` (a retry within the window)."""
    row = await db.execute_one(
        "SELECT 1 AS hit FROM webhook_events WHERE source = ? AND event_id = ? "
        "AND created_at >= ?",
        (source, key, since_ms),
    )
    return row is not None


async def remember(db: Store, source: str, key: str, since_ms: int = 0) -> bool:
    """Record the delivery as handled now; False if it already was since `since_ms`."""
    # A record older than the window is renewed: a retry of this later delivery must
    # be recognised within the window counted from it, not from the earlier one.
    result = await db.execute_write(
        "INSERT INTO webhook_events (source, event_id, created_at) VALUES (?, ?, ?) "
        "ON CONFLICT (source, event_id) DO UPDATE SET created_at = excluded.created_at "
        "WHERE webhook_events.created_at < ?",
        (source, key, now_ms(), since_ms),
    )
    return result.rowcount > 0


async def store_received(db: Store, message: Received) -> int | None:
    """Insert the message; its new row id, or None if that message is already stored."""
    result = await db.execute_write(_INSERT_RECEIVED, message.params())
    if not result.rows:
        return None
    log_id = int(result.rows[0][0])
    db.notify_changed([log_id])
    return log_id


async def store_edit(db: Store, message: Received) -> int:
    """Replace the stored message's content (insert it if the original never arrived)."""
    result = await db.execute_write(_UPSERT_EDIT, message.params())
    assert result.rows, "upsert with RETURNING gives its row"
    log_id = int(result.rows[0][0])
    db.notify_changed([log_id])
    return log_id


async def prune(db: Store, before_ms: int) -> int:
    """Forget event ids recorded before `before_ms`; how many went."""
    result = await db.execute_write(
        "DELETE FROM webhook_events WHERE created_at < ?", (before_ms,)
    )
    return result.rowcount
