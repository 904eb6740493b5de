"""Live tail (server-sent events) and streamed export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from typing import Any

import structlog
from aiohttp import web

from storage import StorageError, message_logs

from .. import keys
from ..live import CLIENT_BUFFER
from ..models import ExportQuery, MessageOut
from ..validation import parse_query
from .messages import log_filter

routes = web.RouteTableDef()
log = structlog.get_logger("msglog.feed")

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
    last_id = _last_event_id(request)
    await response.prepare(request)
    sub = hub.subscribe()  # before the replay: a row committed meanwhile is not missed
    loop = asyncio.get_running_loop()
    last_write = loop.time()
    try:
        await response.write(b"retry: 2000\n: connected\n\n")
        if last_id is not None:
            missed = await message_logs.after_id(request.app[keys.DB], last_id, CLIENT_BUFFER + 1)
            if len(missed) > CLIENT_BUFFER:
                sub.dropped = True  # too far behind to replay: reload the page instead
            else:
                await response.write(b"".join(_sse(row) for row in missed))
        while not hub.closed:
            if sub.dropped and sub.queue.empty():
                await response.write(f"event: {sub.reason}\ndata: {{}}\n\n".encode())
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
    except ConnectionResetError:
        pass  # the client left
    finally:
        hub.unsubscribe(sub)
    return response


def _last_event_id(request: web.Request) -> int | None:
    """The id a reconnecting EventSource saw last; anything else means a fresh start."""
    raw = request.headers.get("Last-Event-ID", "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


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
    sent = 0
    try:
        async for rows in message_logs.iterate(request.app[keys.DB], filt):
            if csv_out:
                await response.write(_csv_lines([[r[c] for c in CSV_COLUMNS] for r in rows]))
            else:
                text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
                await response.write(text.encode())
            sent += len(rows)
    except StorageError as exc:
        # The status line went out long ago: only a cut connection (no final chunk) tells
        # the client that the body is incomplete.
        log.error("export_aborted", error=str(exc), rows_sent=sent)
        if request.transport is not None:
            request.transport.abort()
        return response
    await response.write_eof()
    return response


def _csv_lines(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def setup(app: web.Application) -> None:
    app.add_routes(routes)
