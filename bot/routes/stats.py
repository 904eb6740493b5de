"""Dashboard statistics over a chosen range."""

from __future__ import annotations

from aiohttp import web

from storage import log_stats, message_logs
from storage.timeutil import now_ms

from .. import keys
from ..models import StatsQuery
from ..validation import parse_query

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


@routes.get("/api/stats")
async def stats(request: web.Request) -> web.Response:
    query = parse_query(StatsQuery, request)
    span, bucket = RANGES[query.range]
    until = now_ms()
    filt = message_logs.LogFilter(
        status=query.status, platform=query.platform, channel=query.channel
    )
    body = await log_stats.summary(request.app[keys.DB], filt, until - span, until, bucket)
    return web.json_response({"range": query.range, **body})


def setup(app: web.Application) -> None:
    app.add_routes(routes)
