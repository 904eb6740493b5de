"""Live tail (server-sent events) and streamed export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

from aiohttp import web

from storage import message_logs

from .. import keys
from ..models import ExportQuery, MessageOut
from ..validation import parse_query
from .messages import log_filter

routes = web.RouteTableDef()

HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 1.0
CSV_COLUMNS = list(MessageOut.model_fields)


def _sse(row: dict[str, Any]) -> bytes:
    data = json.dumps(row, ensure_ascii=False)
    return f"id: {row['id']}\nevent: message\ndata: {data}\n\n".encode()


@routes.get("/api/messages/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    """New and updated rows as they commit; a client that falls behind is dropped."""
    hub = request.app[keys.HUB]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    sub = hub.subscribe()
    loop = asyncio.get_running_loop()
    last_write = loop.time()
    try:
        await response.write(b"retry: 2000\n: connected\n\n")
        while not hub.closed:
            if sub.dropped and sub.queue.empty():
                await response.write(b"event: overflow\ndata: {}\n\n")
                break
            try:
                row = await asyncio.wait_for(sub.queue.get(), POLL_SECONDS)
            except TimeoutError:
                if loop.time() - last_write >= HEARTBEAT_SECONDS:
                    await response.write(b": ping\n\n")
                    last_write = loop.time()
                continue
            await response.write(_sse(row))
            last_write = loop.time()
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        hub.unsubscribe(sub)
    return response


@routes.get("/api/messages/export")
async def export(request: web.Request) -> web.StreamResponse:
    """Every matching row, streamed in keyset chunks: memory stays flat on any table."""
    query = parse_query(ExportQuery, request)
    filt = log_filter(query)
    csv_out = query.format == "csv"
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8" if csv_out else "application/x-ndjson",
            "Content-Disposition": f'attachment; filename="messages.{query.format}"',
        }
    )
    await response.prepare(request)
    if csv_out:
        await response.write(_csv_lines([CSV_COLUMNS]))
    async for rows in message_logs.iterate(request.app[keys.DB], filt):
        if csv_out:
            await response.write(_csv_lines([[r[c] for c in CSV_COLUMNS] for r in rows]))
        else:
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            await response.write(text.encode())
    await response.write_eof()
    return response


def _csv_lines(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def setup(app: web.Application) -> None:
    app.add_routes(routes)
