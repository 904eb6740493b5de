"""Dashboard statistics over a chosen range."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from storage import log_stats, message_logs
from storage.timeutil import now_ms

from .. import keys
from ..models import StatsQuery
from ..validation import parse_query
from .messages import log_filter

routes = web.RouteTableDef()

HOUR_MS = 3_600_000
# range -> (span, bucket): 24 to 60 points; whole hours past an hour, so the
# trigger-maintained hourly rollups can answer.
RANGES = {
    "1h": (HOUR_MS, 60_000),
    "24h": (24 * HOUR_MS, HOUR_MS),
    "7d": (7 * 24 * HOUR_MS, 3 * HOUR_MS),
    "30d": (30 * 24 * HOUR_MS, 12 * HOUR_MS),
}


def window(range_name: str, filt: message_logs.LogFilter) -> tuple[int, int]:
    """The range's window ending now, narrowed by the filter's since and until."""
    span, _ = RANGES[range_name]
    until = now = now_ms()
    since = now - span
    if filt.since_ms is not None:
        since = max(since, filt.since_ms)
    if filt.until_ms is not None:
        until = min(until, filt.until_ms)
    return since, max(until, since)


@routes.get("/api/stats")
async def stats(request: web.Request) -> web.Response:
    query = parse_query(StatsQuery, request)
    _, bucket = RANGES[query.range]
    filt = log_filter(query)
    since, until = window(query.range, filt)
    exact = filt.since_ms is not None or filt.until_ms is not None
    body = await log_stats.summary(
        request.app[keys.DB], replace(filt, since_ms=None, until_ms=None), since, until,
        bucket, exact=exact,
    )
    return web.json_response({"range": query.range, **body})


def setup(app: web.Application) -> None:
    app.add_routes(routes)
