"""Chat platform webhooks: KOOK and Telegram deliveries, verified and stored once."""

from __future__ import annotations

import structlog
from aiohttp import web

from storage import webhook_events
from storage.timeutil import now_ms
from storage.webhook_events import Received

from .. import keys, kook, telegram
from ..errors import Disabled, Unauthorized
from ..jsonbody import decode_object
from ..models import KookQuery
from ..validation import no_query, parse_query

log = structlog.get_logger("msglog.webhooks")


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


async def kook_webhook(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    if settings.kook_verify_token is None:
        raise Disabled("kook webhook disabled: set MSGLOG_KOOK_VERIFY_TOKEN to enable it")
    query = parse_query(KookQuery, request)
    key = settings.kook_encrypt_key
    event = kook.open_delivery(
        await request.read(),
        compressed=query.compress == "1",
        encrypt_key=key.get_secret_value() if key is not None else None,
        limit=settings.max_body_bytes,
    )
    kook.verify(event, settings.kook_verify_token.get_secret_value())
    action = kook.classify(event)
    if isinstance(action, kook.Challenge):
        return web.json_response({"challenge": action.challenge})
    if isinstance(action, kook.Ignored):
        log.debug("webhook_ignored", source="kook", reason=action.reason)
        return _ack()
    if isinstance(action, kook.SystemEvent):
        duplicate = await _note_event(request, "kook", action.sn, action.msg_id)
        log.debug("webhook_ignored", source="kook", reason="system event", sn=action.sn)
        return _ack(duplicate)
    duplicate = await _deliver(request, "kook", action.sn, action.received, edit=False)
    log.debug("webhook_delivered", source="kook", sn=action.sn, duplicate=duplicate)
    return _ack(duplicate)


async def telegram_webhook(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    given = request.headers.get(telegram.SECRET_HEADER)
    if given is None:
        # A required header missing is the request's fault whatever the settings say.
        raise Unauthorized(f"missing {telegram.SECRET_HEADER} header")
    if settings.telegram_secret_token is None:
        raise Disabled("telegram webhook disabled: set MSGLOG_TELEGRAM_SECRET_TOKEN to enable it")
    no_query(request)
    telegram.check_secret(given, settings.telegram_secret_token.get_secret_value())
    action = telegram.classify(decode_object(await request.read()))
    if isinstance(action, telegram.Ignored):
        log.debug("webhook_ignored", source="telegram", reason=action.reason)
        return _ack()
    duplicate = await _deliver(
        request, "telegram", action.update_id, action.received, action.edit
    )
    log.debug(
        "webhook_delivered", source="telegram", update_id=action.update_id, duplicate=duplicate
    )
    return _ack(duplicate)


def setup(app: web.Application) -> None:
    """Register this module's routes."""
    app.router.add_post("/webhooks/kook", kook_webhook)
    app.router.add_post("/webhooks/telegram", telegram_webhook)
