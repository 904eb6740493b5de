"""Chat platform webhooks: POST /webhooks/{platform}, verified and stored once.

What a delivery means is the platform's business (bot.platforms, one module each); here
it is stored, deduplicated and acknowledged the same way for all of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web

from storage import webhook_events
from storage.timeutil import now_ms
from storage.webhook_events import Received

from .. import keys
from ..platforms import SOURCES, receivers
from ..platforms.base import Answer, Ignored, Inbound

log = structlog.get_logger("msglog.webhooks")
Handler = Callable[[web.Request], Awaitable[web.Response]]


def _ack(duplicate: bool = False) -> web.Response:
    return web.json_response({"ok": True, "duplicate": duplicate})


def _window_start(request: web.Request) -> int:
    """Epoch ms since which a repeated delivery counts as a retry."""
    return now_ms() - request.app[keys.SETTINGS].webhook_dedupe_window_minutes * 60_000


async def _deliver(
    request: web.Request, source: str, event_id: str | None, message: Received, edit: bool
) -> bool:
    """Store one delivered message; True if it was a duplicate. Answers after COMMIT."""
    db = request.app[keys.DB]
    message_id = message.source_message_id
    key = None if event_id is None else webhook_events.event_key(event_id, message_id)
    since = _window_start(request)
    if key is not None and await webhook_events.seen(db, source, key, since):
        _duplicate(request, source, event_id, message_id, "retry of a handled delivery")
        return True
    if edit:
        await webhook_events.store_edit(db, message)
        duplicate = False
    else:
        # The message's own key says "already stored", whatever its event number.
        duplicate = await webhook_events.store_received(db, message) is None
        if duplicate:
            _duplicate(request, source, event_id, message_id, "message already stored")
    # Only after the message is committed: a crash in between must not make the
    # platform's retry look like a duplicate of something never stored.
    if key is not None:
        await webhook_events.remember(db, source, key, since)
    return duplicate


async def _note_event(
    request: web.Request, source: str, event_id: str | None, message_id: str | None
) -> bool:
    """An event that stores nothing; True if it repeats one seen within the window."""
    if event_id is None:
        return False
    db = request.app[keys.DB]
    key = webhook_events.event_key(event_id, message_id)
    if not await webhook_events.remember(db, source, key, _window_start(request)):
        _duplicate(request, source, event_id, message_id, "retry of a handled event")
        return True
    return False


def _duplicate(
    request: web.Request, source: str, event_id: str | None, message_id: str | None, why: str
) -> None:
    """Never silent: every duplicate is counted and logged."""
    metrics = request.app.get(keys.METRICS)
    if metrics is not None:
        metrics.webhook_duplicates.labels(source=source).inc()
    log.info(
        "webhook_duplicate", source=source, event_id=event_id, message_id=message_id, reason=why
    )


def _handler(source: str) -> Handler:
    async def webhook(request: web.Request) -> web.Response:
        # Built per request from the settings: cheap, and always the app's current ones.
        event = await receivers(request.app[keys.SETTINGS])[source].receive(request)
        if isinstance(event, Answer):
            return web.json_response(event.body)
        if isinstance(event, Ignored):
            log.debug("webhook_ignored", source=source, reason=event.reason)
            return _ack()
        if isinstance(event, Inbound):
            duplicate = await _deliver(
                request, source, event.event_id, event.received, event.edit
            )
            log.debug("webhook_delivered", source=source, event_id=event.event_id,
                      duplicate=duplicate)
            return _ack(duplicate)
        duplicate = await _note_event(request, source, event.event_id, event.message_id)
        log.debug("webhook_ignored", source=source, reason="system event",
                  event_id=event.event_id)
        return _ack(duplicate)

    webhook.__name__ = f"{source}_webhook"
    return webhook


def setup(app: web.Application) -> None:
    """Register one route per receiving platform."""
    for source in SOURCES:
        app.router.add_post(f"/webhooks/{source}", _handler(source))
