"""Storage-API helpers shared by the tests: one message log written as the runtime does."""

from __future__ import annotations

from storage import AsyncDatabase


async def log(db: AsyncDatabase, key: str, content: str = "hello") -> int:
    """add_message_log_async with fixed fields except the message id (and content)."""
    return await db.add_message_log_async(key, "chan", content, "text", "ann", "tg", "t1",
                                          "success")
