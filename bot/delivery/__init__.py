"""Forwarding: the worker that delivers what routes queued, started with the app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import structlog
from aiohttp import web

from storage import forward_routes

from .. import keys
from ..platforms import senders
from .worker import DeliveryWorker

log = structlog.get_logger("msglog.delivery")
DELIVERY = web.AppKey("delivery", DeliveryWorker)


async def delivery_ctx(app: web.Application) -> AsyncIterator[None]:
    """One shared client session and the worker, for the app's lifetime."""
    settings = app[keys.SETTINGS]
    db = app[keys.DB]
    if db.secret_box is not None:
        sealed = await forward_routes.seal_unsealed(db, db.secret_box)
        if sealed:
            log.info("route_urls_sealed", routes=sealed)
    timeout = aiohttp.ClientTimeout(total=settings.delivery_timeout_s)
    session = aiohttp.ClientSession(timeout=timeout)
    worker = DeliveryWorker(db, session, senders(settings), settings, app[keys.METRICS])
    app[DELIVERY] = worker
    task = asyncio.get_running_loop().create_task(worker.run(), name="msglog-delivery")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await session.close()
