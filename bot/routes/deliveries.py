"""GET /api/deliveries: each forward route's outcomes; /api/deliveries/{route_id}: its rows.

Under the ordinary API token, not the admin one: nothing here is a secret (no target URL,
not even redacted).
"""

from __future__ import annotations

from typing import Annotated, Any, get_args

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from storage import delivery_view

from .. import keys
from ..errors import NotFound
from ..models import MAX_INT64, Status
from ..validation import no_query, parse_query

routes = web.RouteTableDef()
MAX_LIMIT = 500


class DeliveriesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description="at most this many rows")] = 50
    before_id: Annotated[
        int, Field(ge=1, le=MAX_INT64, description="rows below this id (the last one seen)")
    ] | None = None


@routes.get("/api/deliveries")
async def index(request: web.Request) -> web.StreamResponse:
    no_query(request)
    items = await delivery_view.routes(request.app[keys.DB])
    return web.json_response({"items": items})


@routes.get(r"/api/deliveries/{route_id:\d+}")
async def of_route(request: web.Request) -> web.StreamResponse:
    route_id = int(request.match_info["route_id"])
    query = parse_query(DeliveriesQuery, request)
    if route_id > MAX_INT64:
        raise NotFound("no such route")
    db = request.app[keys.DB]
    route = await delivery_view.route(db, route_id)
    if route is None:
        raise NotFound("no such route")
    items, next_id = await delivery_view.deliveries(db, route_id, query.limit, query.before_id)
    return web.json_response({"route": route, "items": items, "next_before_id": next_id})


def setup(app: web.Application) -> None:
    app.add_routes(routes)


TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}
MAYBE_TEXT = {"type": ["string", "null"]}
COUNT = {"type": "integer", "minimum": 0}
ROUTE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "source_platform", "source_channel", "target_platform",
                 "target_channel", "enabled", "counts", "oldest_waiting_at",
                 "last_success_at", "last_error", "last_error_at"],
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "source_platform": {"type": "string"},
        "source_channel": {"type": "string"},
        "target_platform": {"type": "string"},
        "target_channel": {"type": "string"},
        "enabled": {"type": "boolean"},
        "counts": {
            "type": "object",
            "description": "the route's delivery rows by status",
            "required": list(delivery_view.STATUSES),
            "properties": dict.fromkeys(delivery_view.STATUSES, COUNT),
        },
        "oldest_waiting_at": {**MAYBE_TIME, "description":
                              "created_at of the oldest row still queued (pending or failed)"},
        "last_success_at": {**MAYBE_TIME, "description": "when the latest success was recorded"},
        "last_error": {**MAYBE_TEXT, "description": "the newest failed or dead row's error"},
        "last_error_at": {**MAYBE_TIME, "description": "when that error was recorded"},
    },
}
DELIVERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": list(delivery_view.DELIVERY_COLUMNS),
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "status": {"type": "string", "enum": list(get_args(Status))},
        "attempts": {"type": "integer"},
        "error_message": MAYBE_TEXT,
        "latency_ms": {"type": ["integer", "null"]},
        "created_at": TIME,
        "updated_at": TIME,
        "content": {**MAYBE_TEXT, "description": "the message as received (untrusted text)"},
        "sender_name": MAYBE_TEXT,
        "kook_message_id": {"type": "string", "description": "the source message's id"},
    },
}


def openapi_paths() -> dict[str, Any]:
    """This module's OpenAPI 3.1 path items."""
    # Imported here: bot.openapi imports this module to call this function.
    from ..openapi import _errors, _json, _query

    listing = {"type": "object", "required": ["items"],
               "properties": {"items": {"type": "array", "items": ROUTE_SCHEMA}}}
    page = {
        "type": "object",
        "required": ["route", "items", "next_before_id"],
        "properties": {
            "route": ROUTE_SCHEMA,
            "items": {"type": "array", "items": DELIVERY_SCHEMA},
            "next_before_id": {"type": ["integer", "null"],
                               "description": "before_id of the next page; null at the end"},
        },
    }
    route_id = {"name": "route_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_INT64}}
    return {
        "/api/deliveries": {
            "get": {
                "summary": "Every forward route with its deliveries counted by status",
                "description": "No target URL, not even redacted: the API token suffices.",
                "responses": {"200": _json(listing), **_errors(401, 422, 503)},
            }
        },
        "/api/deliveries/{route_id}": {
            "get": {
                "summary": "One route's summary and its latest deliveries, newest first",
                "description": "Newest first by id (the order the route queued them); "
                "keyset paging with before_id.",
                "parameters": [route_id, *_query(DeliveriesQuery)],
                "responses": {"200": _json(page), **_errors(401, 404, 422, 503)},
            }
        },
    }
