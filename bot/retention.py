"""Retention in the service: a pass at start, then hourly, while MSGLOG_RETENTION_DAYS > 0."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from storage import AsyncDatabase, StorageClosedError, StorageError, retention

from . import keys

INTERVAL_S = 3600.0
log = structlog.get_logger("msglog.retention")


class RetentionTask:
    """Deletes logs older than `days` days now and every `interval` seconds after."""

    def __init__(self, db: AsyncDatabase, days: int, interval: float = INTERVAL_S) -> None:
        self.db = db
        self.days = days
        self.interval = interval
        self.passes = 0
        # Passes another instance was doing at the time.
        self.skipped = 0
        self.last: retention.RetentionReport | None = None
        self._changed = asyncio.Condition()

    async def run(self) -> None:
        while True:
            try:
                report = await self._pass()
            except StorageClosedError:
                return
            except StorageError as exc:
                # A full or locked disk: try again next time, the service goes on.
                log.warning("retention_failed", error=str(exc))
            except Exception:
                # A bug here must not take the service (or its shutdown) down with it.
                log.exception("retention_crashed")
            else:
                if report is not None:
                    self._done(report)
            async with self._changed:
                self.passes += 1
                self._changed.notify_all()
            await asyncio.sleep(self.interval)

    def _done(self, report: retention.RetentionReport) -> None:
        self.last = report
        if report.logs_deleted or report.events_deleted or report.pages_freed:
            log.info(
                "retention",
                days=self.days,
                logs_deleted=report.logs_deleted,
                events_deleted=report.events_deleted,
                rollup_rows_deleted=report.rollup_rows_deleted,
                pages_freed=report.pages_freed,
            )

    async def _pass(self) -> retention.RetentionReport | None:
        # Several instances on one database: whichever leads now does the pass.
        lead = await self.db.try_lead("retention")
        if lead is None:
            self.skipped += 1
            return None
        try:
            return await retention.apply(self.db, self.days)
        finally:
            await lead.release()

    async def wait_for_passes(self, count: int) -> None:
        """Return once `count` passes (successful or not) have finished."""
        async with self._changed:
            await self._changed.wait_for(lambda: self.passes >= count)


RETENTION = web.AppKey("retention", RetentionTask)


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """Runs the retention task for the app's lifetime (after the database is open)."""
    days = app[keys.SETTINGS].retention_days
    if days <= 0:
        yield
        return
    job = RetentionTask(app[keys.DB], days)
    app[RETENTION] = job
    task = asyncio.get_running_loop().create_task(job.run(), name="msglog-retention")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
