"""Failed deliveries grouped by error message, for the dashboard's failures view."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from storage import failures
from storage.timeutil import ms_to_iso

from .. import keys
from ..models import Filters
from ..validation import parse_query
from .messages import log_filter
from .stats import RANGES, window

routes = web.RouteTableDef()
MAX_GROUPS = 100


class FailuresQuery(Filters):
    """The listing's filters, a range ending now (as for stats), an order and a bound."""

    range: Literal["1h", "24h", "7d", "30d"] = "24h"
    order: Annotated[
        Literal["count", "last_seen"], Field(description="most rows first, or newest first")
    ] = "count"
    limit: Annotated[int, Field(ge=1, le=MAX_GROUPS, description="at most this many groups")] = 50


@routes.get("/api/failures")
async def index(request: web.Request) -> web.Response:
    query = parse_query(FailuresQuery, request)
    filt = log_filter(query)
    since, until = window(query.range, filt)  # as in /api/stats
    body = await failures.groups(
        request.app[keys.DB],
        replace(filt, since_ms=since, until_ms=until),
        query.order,
        query.limit,
    )
    return web.json_response(
        {"range": query.range, "since": ms_to_iso(since), "until": ms_to_iso(until), **body}
    )


TARGET_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["platform", "channel", "count"],
    "properties": {
        "platform": {"type": "string"},
        "channel": {"type": "string"},
        "count": {"type": "integer", "minimum": 1},
    },
}
GROUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error_message", "count", "last_seen", "target_count", "targets"],
    "properties": {
        "error_message": {"type": ["string", "null"]},
        "count": {"type": "integer", "minimum": 1},
        "last_seen": {"type": "string", "format": "date-time"},
        "target_count": {
            "type": "integer",
            "minimum": 1,
            "description": "distinct (platform, channel) pairs; targets lists the "
            f"{failures.MAX_TARGETS} with most failures",
        },
        "targets": {"type": "array", "items": TARGET_SCHEMA},
    },
}
FAILURES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["range", "since", "until", "statuses", "total", "groups"],
    "properties": {
        "range": {"type": "string", "enum": list(RANGES)},
        "since": {"type": "string", "format": "date-time"},
        "until": {"type": "string", "format": "date-time"},
        "statuses": {
            "type": "array",
            "items": {"type": "string"},
            "description": "the statuses counted as failures (narrowed by ?status=)",
        },
        "total": {"type": "integer", "minimum": 0, "description": "failed rows in the window"},
        "groups": {"type": "array", "items": GROUP_SCHEMA},
    },
}


def openapi_paths() -> dict[str, Any]:
    """This module's OpenAPI 3.1 path items, for bot.openapi to merge into its document."""
    # Imported here: bot.openapi may import this module to call this function.
    from ..openapi import _errors, _json, _query

    return {
        "/api/failures": {
            "get": {
                "summary": "Failed (and dead) rows grouped by error message",
                "description": (
                    "Rows with status failed or dead matching the listing's filters in the "
                    "range ending now (since/until narrow it), grouped by error message: "
                    "count, last seen and the targets affected."
                ),
                "parameters": _query(FailuresQuery),
                "responses": {"200": _json(FAILURES_SCHEMA), **_errors(401, 422, 503)},
            }
        }
    }


def setup(app: web.Application) -> None:
    app.add_routes(routes)
