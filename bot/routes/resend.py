"""POST /api/messages/{id}/resend: a failed or dead delivery back to its route's queue."""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web

from storage import deliveries, message_logs
from storage.deliveries import DeliveryNotFound, NotResendable

from .. import keys
from ..errors import Conflict, NotFound
from ..models import MAX_INT64
from ..validation import no_query

log = structlog.get_logger("msglog.delivery")
routes = web.RouteTableDef()


@routes.post(r"/api/messages/{id:\d+}/resend")
async def resend(request: web.Request) -> web.StreamResponse:
    row_id = int(request.match_info["id"])
    no_query(request)
    if row_id > MAX_INT64:
        raise NotFound("no such message")
    db = request.app[keys.DB]
    try:
        await deliveries.resend(db, row_id)
    except DeliveryNotFound:
        raise NotFound("no such message") from None
    except NotResendable as exc:
        raise Conflict(str(exc)) from None
    log.info("delivery_resent", row_id=row_id)
    row = await message_logs.get(db, row_id)
    return web.json_response(row)


def setup(app: web.Application) -> None:
    app.add_routes(routes)


def openapi_paths() -> dict[str, Any]:
    """This module's OpenAPI 3.1 path item."""
    # Imported here: bot.openapi imports this module to call this function.
    from ..openapi import _errors

    return {
        "/api/messages/{id}/resend": {
            "post": {
                "summary": "Put a failed or dead delivery back to pending (due now)",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer", "minimum": 1}}],
                "responses": {
                    "200": {"description": "the row, now pending",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/MessageOut"}}}},
                    **_errors(401, 404, 409, 422, 503),
                },
            }
        }
    }
