"""Message log API: log attempts, read pages, fetch one, record retries."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from pydantic import TypeAdapter

from storage import AsyncDatabase, message_logs
from storage.timeutil import to_ms

from .. import keys
from ..errors import NotFound, Unprocessable
from ..jsonbody import decode
from ..models import MAX_INT64, Filters, ListQuery, MessageIn, MessagePatch
from ..validation import no_query, parse_json, parse_model, parse_query, read_json

routes = web.RouteTableDef()
MAX_BATCH = 1000
_one: TypeAdapter[MessageIn] = TypeAdapter(MessageIn)
_many: TypeAdapter[list[MessageIn]] = TypeAdapter(list[MessageIn])


def log_filter(query: Filters) -> message_logs.LogFilter:
    """The storage filter; a window with since >= until is simply empty, as documented."""
    return message_logs.LogFilter(
        status=query.status,
        platform=query.platform,
        channel=query.channel,
        sender=query.sender,
        q=query.q.strip() or None if query.q else None,
        since_ms=to_ms(query.since) if query.since else None,
        until_ms=to_ms(query.until) if query.until else None,
    )


def message_id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if value > MAX_INT64:
        raise NotFound("no such message")
    return value


async def _log(db: AsyncDatabase, m: MessageIn) -> int:
    return await message_logs.log(
        db,
        m.kook_message_id,
        m.kook_channel_id,
        m.content,
        m.message_type,
        m.sender_name,
        m.target_platform,
        m.target_channel,
        m.status,
        m.error_message,
        m.latency_ms,
        source_platform=m.source_platform,
    )


@routes.post("/api/messages")
async def create(request: web.Request) -> web.Response:
    """201 only after every row of the request is committed."""
    if request.query_string:
        no_query(request)
    raw = await request.read()
    start = raw[:1]
    if start not in (b"{", b"["):
        start = raw.lstrip()[:1]  # a copy of the body, only when it starts with space
    if start == b"{":
        items = [parse_json(_one, raw)]
    elif start == b"[":
        items = parse_json(_many, raw)
    else:
        decode(raw, "request body")  # a 400 unless it is a JSON scalar
        raise Unprocessable(
            "expected a message object or a list of them",
            details=[{"field": "body", "message": "not an object or list", "type": "type"}],
        )
    if not items:
        raise Unprocessable("empty list", details=[{"field": "body", "message": "no items"}])
    if len(items) > MAX_BATCH:
        raise Unprocessable(
            f"at most {MAX_BATCH} messages per request",
            details=[{"field": "body", "message": f"{len(items)} items", "type": "too_long"}],
        )
    db = request.app[keys.DB]
    if len(items) == 1:  # the common case: no task per item
        ids = [await _log(db, items[0])]
    else:
        ids = list(await asyncio.gather(*(_log(db, m) for m in items)))
    # The body of every ingest answer; json.dumps of a list of ints adds nothing.
    return web.Response(
        body=b'{"ids": [' + ", ".join(map(str, ids)).encode() + b"]}",
        status=201,
        content_type="application/json",
    )


@routes.get("/api/messages")
async def index(request: web.Request) -> web.Response:
    query = parse_query(ListQuery, request)
    items, next_id = await message_logs.page(
        request.app[keys.DB], log_filter(query), query.limit, query.before_id
    )
    return web.json_response({"items": items, "next_before_id": next_id})


@routes.get(r"/api/messages/{id:\d+}")
async def show(request: web.Request) -> web.Response:
    no_query(request)
    row = await message_logs.get(request.app[keys.DB], message_id(request))
    if row is None:
        raise NotFound("no such message")
    return web.json_response(row)


@routes.patch(r"/api/messages/{id:\d+}")
async def patch(request: web.Request) -> web.Response:
    log_id = message_id(request)
    no_query(request)
    change = parse_model(MessagePatch, await read_json(request))
    fields: dict[str, Any] = change.model_dump(include=change.model_fields_set)
    db = request.app[keys.DB]
    if not await message_logs.update(db, log_id, fields):
        raise NotFound("no such message")
    row = await message_logs.get(db, log_id)
    return web.json_response(row)


def setup(app: web.Application) -> None:
    app.add_routes(routes)
