"""Forwarding: the worker that delivers what routes queued, started with the app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import structlog
from aiohttp import web

from storage import AsyncDatabase, StorageClosedError, StorageError, forward_routes

from .. import keys
from ..platforms import senders
from .worker import DeliveryWorker

log = structlog.get_logger("msglog.delivery")
DELIVERY = web.AppKey("delivery", DeliveryWorker)
# A standby instance asks for the lead this often; the leader checks it holds it so often.
STANDBY_POLL_S = 2.0
LEAD_CHECK_S = 1.0
STOP_GRACE_S = 5.0


async def lead_deliveries(db: AsyncDatabase, worker: DeliveryWorker) -> None:
    """Run the worker while this instance leads delivery; stand by while another does.

    One worker per database keeps each target's order and sends nothing twice; when the
    leader stops (or its session to the database is lost) a standby takes over within
    STANDBY_POLL_S, from the queue the database holds.
    """
    while True:
        try:
            lead = await db.try_lead("delivery")
        except StorageClosedError:
            return
        except StorageError as exc:
            log.warning("delivery_lead_failed", error=str(exc))
            lead = None
        if lead is None:
            worker.standby = True
            await asyncio.sleep(STANDBY_POLL_S)
            continue
        worker.standby = False
        log.info("delivery_leading")
        running = asyncio.get_running_loop().create_task(worker.run())
        try:
            while not running.done() and not lead.lost:
                await asyncio.wait({running}, timeout=LEAD_CHECK_S)
        finally:
            if not running.done():
                running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
            await lead.release()
        if not lead.lost:
            return  # the worker ended: the database closed
        log.warning("delivery_lead_lost")


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
    task = asyncio.get_running_loop().create_task(lead_deliveries(db, worker),
                                                  name="msglog-delivery")
    yield
    task.cancel()
    # A send stuck past its own timeout must not hold the shutdown (and the database's
    # drain after it) for ever.
    grace = settings.delivery_timeout_s + STOP_GRACE_S
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        log.error("delivery_worker_did_not_stop", waited_s=grace)
    elif not task.cancelled() and task.exception() is not None:
        log.error("delivery_worker_failed", error=str(task.exception()))
    await session.close()
