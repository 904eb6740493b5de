"""Live tail (server-sent events) and streamed export."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from typing import Any

import structlog
from aiohttp import web

from storage import StorageError, message_logs

from .. import keys
from ..live import RowMatch, replay
from ..models import ExportQuery, MessageOut, StreamQuery
from ..validation import parse_query
from .messages import log_filter

routes = web.RouteTableDef()
log = structlog.get_logger("msglog.feed")

HEARTBEAT_SECONDS = 15.0
POLL_SECONDS = 1.0
CSV_COLUMNS = list(MessageOut.model_fields)


def _sse(seq: int, row: dict[str, Any]) -> bytes:
    data = json.dumps(row, ensure_ascii=False)
    return f"id: {seq}\nevent: message\ndata: {data}\n\n".encode()


@routes.get("/api/messages/stream")
async def stream(request: web.Request) -> web.StreamResponse:
    """Every matching change as it commits, each under a change number that only grows."""
    query = parse_query(StreamQuery, request)
    match = RowMatch(query.status, query.platform, query.channel, query.sender,
                     query.q.strip() or None if query.q else None)
    # EventSource sends the header on its own reconnects; ?after_id= is for the rest.
    last_seq = _last_event_id(request)
    if last_seq is None:
        last_seq = query.after_id
    hub = request.app[keys.HUB]
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    sub = await hub.subscribe(match)  # before the replay: nothing falls between the two
    loop = asyncio.get_running_loop()
    last_write = loop.time()
    try:
        await response.write(b"retry: 2000\n: connected\n\n")
        if last_seq is not None:
            missed = await replay(request.app[keys.DB], sub, last_seq)
            if missed is None:
                sub.dropped = True  # too far behind to replay: reload instead
            else:
                await response.write(b"".join(_sse(seq, row) for seq, row in missed))
        while not hub.closed:
            if sub.dropped and sub.queue.empty():
                await response.write(f"event: {sub.reason}\ndata: {{}}\n\n".encode())
                break
            try:
                seq, row = await asyncio.wait_for(sub.queue.get(), POLL_SECONDS)
            except TimeoutError:
                if loop.time() - last_write >= HEARTBEAT_SECONDS:
                    await response.write(b": ping\n\n")
                    last_write = loop.time()
                continue
            await response.write(_sse(seq, row))
            last_write = loop.time()
    except ConnectionResetError:
        pass  # the client left
    except StorageError as exc:
        # The replay's read failed: say so as the tail does, and let the client retry.
        log.error("live_tail_replay_failed", error=str(exc))
        with contextlib.suppress(ConnectionResetError):
            await response.write(b"event: error\ndata: {}\n\n")
    finally:
        hub.unsubscribe(sub)
    return response


def _last_event_id(request: web.Request) -> int | None:
    """The change number a reconnecting EventSource saw last; anything else: none."""
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
        # Excel reads a CSV without a BOM in the machine's code page, not UTF-8.
        await response.write((UTF8_BOM if query.bom else b"") + _csv_lines([CSV_COLUMNS]))
    sent = 0
    try:
        async for rows in message_logs.iterate(request.app[keys.DB], filt):
            if csv_out:
                await response.write(
                    _csv_lines([[_inert(r[c]) for c in CSV_COLUMNS] for r in rows])
                )
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


UTF8_BOM = "\ufeff".encode()
# A spreadsheet runs a cell starting with these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: Any) -> Any:
    """Message text is untrusted: a cell that would be a formula is quoted as text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv_lines(rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def setup(app: web.Application) -> None:
    app.add_routes(routes)
