"""The delivery worker: one task per route with work, each taking its queue in id order.

Order is kept per route (one source channel to one target channel): a route's next row
waits until the one before it is delivered or dead. Routes never wait for each other:
a slow or rate-limited target holds up only its own queue. All state is in the
database (storage.deliveries); this only decides what to send next.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp
import structlog

from storage import AsyncDatabase, StorageClosedError, StorageError, deliveries, forward_routes
from storage.deliveries import Queued
from storage.forward_routes import Target

from ..metrics import Metrics
from ..platforms.base import Message, Outcome, Platform, split_text
from ..settings import Settings
from .backoff import delay_s

log = structlog.get_logger("msglog.delivery")
LANE_CHUNK = 50
POLL_S = 1.0
# Writes wake the dispatcher; under a write storm it looks at most this often.
MIN_GAP_S = 0.02


class DeliveryWorker:
    def __init__(
        self,
        db: AsyncDatabase,
        session: aiohttp.ClientSession,
        senders: dict[str, Platform],
        settings: Settings,
        metrics: Metrics,
    ) -> None:
        self.db = db
        self.session = session
        self.senders = senders
        self.settings = settings
        self.metrics = metrics
        self._lanes: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._sending = asyncio.Semaphore(settings.delivery_concurrency)
        self._stats_at = 0.0
        self._any_route = True  # until the first look at the routes says otherwise
        # True while another instance on the database leads delivery.
        self.standby = False

    def poke(self, ids: list[int] | None = None) -> None:
        """Something was written: look for new work now rather than at the next poll.

        While no route is enabled a row written here queues nothing (the queueing trigger
        needs a route), so under an ingest storm the dispatcher is not woken for it: the
        poll, at most POLL_S later, also sees a route that was just enabled. A change
        seen from outside (no ids) always wakes it.
        """
        if ids and not self._any_route:
            return
        self._wake.set()

    async def run(self) -> None:
        self.db.add_change_listener(self.poke)
        try:
            while True:
                try:
                    await self._dispatch()
                except StorageClosedError:
                    return
                except StorageError as exc:
                    log.warning("delivery_dispatch_failed", error=str(exc))
                except Exception:
                    log.exception("delivery_dispatch_crashed")
                await asyncio.sleep(MIN_GAP_S)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_S)
                self._wake.clear()
        finally:
            self.db.remove_change_listener(self.poke)
            for task in self._lanes.values():
                task.cancel()
            for task in list(self._lanes.values()):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _dispatch(self) -> None:
        routes = await forward_routes.enabled_ids(self.db)
        self._any_route = bool(routes)
        now = time.monotonic()
        if now - self._stats_at >= POLL_S:
            self._stats_at = now
            stats = await deliveries.queue_stats(self.db)
            self.metrics.observe_queue(stats.queued, stats.oldest_created_at, stats.dead)
        if not routes:
            return
        heads = await deliveries.heads(self.db, routes)
        for route_id in heads:
            if route_id not in self._lanes:
                task = asyncio.get_running_loop().create_task(
                    self._lane(route_id), name=f"msglog-delivery-{route_id}"
                )
                self._lanes[route_id] = task
                task.add_done_callback(self._lane_done)

    def _lane_done(self, task: asyncio.Task[None]) -> None:
        for route_id, running in list(self._lanes.items()):
            if running is task:
                del self._lanes[route_id]

    async def _lane(self, route_id: int) -> None:
        try:
            while True:
                target = (await forward_routes.targets(self.db, [route_id])).get(route_id)
                if target is None or not target.enabled:
                    return
                rows = await deliveries.lane(self.db, route_id, LANE_CHUNK)
                if not rows:
                    return
                for row in rows:
                    wait = (row.next_attempt_at - _now_ms()) / 1000
                    if wait > 0:
                        # Not due yet: look again soon (a resend may put an earlier row first).
                        await asyncio.sleep(min(wait, POLL_S))
                        break
                    if not await self._deliver(target, row):
                        break
        except StorageClosedError:
            return
        except StorageError as exc:
            log.warning("delivery_lane_failed", route_id=route_id, error=str(exc))
        except Exception:
            log.exception("delivery_lane_crashed", route_id=route_id)

    async def _deliver(self, target: Target, row: Queued) -> bool:
        """Send one row and record what happened; True when it left the queue as sent."""
        sender = self.senders.get(target.platform)
        started = time.monotonic()
        if sender is None:
            outcome = Outcome("permanent", f"no sender for platform {target.platform!r}")
        else:
            outcome = await self._send_parts(sender, target, row)
        latency = round((time.monotonic() - started) * 1000)
        attempt = row.attempts + 1
        self.metrics.observe_delivery(target.platform, outcome.kind)
        if outcome.kind == "sent":
            await deliveries.succeeded(self.db, row.id, latency, outcome.sent_id)
            return True
        if outcome.kind == "permanent" or attempt >= self.settings.delivery_max_attempts:
            await deliveries.dead(self.db, row.id, outcome.detail)
            self.metrics.observe_dead(target.platform)
            log.warning("delivery_dead", row_id=row.id, route_id=row.route_id,
                        platform=target.platform, attempts=attempt, error=outcome.detail)
            return False
        wait = delay_s(
            attempt,
            self.settings.delivery_backoff_base_ms,
            self.settings.delivery_backoff_max_s,
            outcome.retry_after,
        )
        await deliveries.failed(self.db, row.id, outcome.detail, _now_ms() + round(wait * 1000))
        self.metrics.observe_retry(target.platform)
        log.info("delivery_retry", row_id=row.id, route_id=row.route_id,
                 platform=target.platform, attempts=attempt, retry_in_s=round(wait, 3),
                 error=outcome.detail)
        return False

    async def _send_parts(self, sender: Platform, target: Target, row: Queued) -> Outcome:
        # A long text goes as several messages. Each accepted part is recorded before the
        # next is sent, so a retry, a restart or a resend goes on from the first part the
        # target did not accept (only a part whose answer was lost can show twice).
        parts = split_text(row.content or "", sender.limit)
        outcome = Outcome("sent")
        for index in range(min(row.parts_sent, len(parts) - 1), len(parts)):
            message = Message(parts[index], row.sender_name, target.channel, target.url)
            async with self._sending:
                outcome = await sender.send(self.session, message)
            if outcome.kind != "sent":
                return outcome
            if index + 1 < len(parts):
                await deliveries.part_sent(self.db, row.id, index + 1, outcome.sent_id)
        return outcome

def _now_ms() -> int:
    return time.time_ns() // 1_000_000
