"""Request context, logging, auth and the one place errors become HTTP answers."""

from __future__ import annotations

import hmac
import itertools
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from storage import (
    DiskFull,
    IntegrityViolation,
    QueryTimeout,
    StorageClosedError,
    StorageError,
    StorageIOError,
    StorageOverloaded,
    WriterStopped,
)

from . import errors, keys, logs
from .page_policy import SECURITY_HEADERS, is_dashboard_path

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
log = structlog.get_logger("msglog.http")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return web.json_response(body, status=status, headers=headers)


def route_name(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    return resource.canonical if resource is not None else "unmatched"


def _storage_error(exc: StorageError) -> web.Response:
    if isinstance(exc, StorageOverloaded):
        return error_response(
            503,
            "overloaded",
            "the write queue is full; retry later",
            headers={"Retry-After": str(max(1, round(exc.retry_after)))},
        )
    if isinstance(exc, StorageIOError):
        # The client gets a short answer; the operator needs the cause in the log.
        log.warning("storage_write_failed", error=str(exc))
        full = isinstance(exc, DiskFull)
        return error_response(
            507 if full else 503,
            "insufficient_storage" if full else "storage_unavailable",
            "the database cannot take writes right now" + (" (disk full)" if full else ""),
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, WriterStopped):
        log.error("storage_writer_stopped", error=str(exc))
        return error_response(
            503, "storage_unavailable", "the database cannot take writes right now",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, StorageClosedError):
        return error_response(
            503, "shutting_down", "the service is shutting down", headers={"Retry-After": "5"}
        )
    if isinstance(exc, QueryTimeout):
        return error_response(503, "query_timeout", "the query took too long and was stopped")
    if isinstance(exc, IntegrityViolation):
        return error_response(409, "conflict", "the write conflicts with existing data")
    raise exc


_ID_PREFIX = uuid.uuid4().hex[:8]
_ids = itertools.count(1)


def next_request_id() -> str:
    """Unique per process lifetime without a system call per request."""
    return f"{_ID_PREFIX}-{next(_ids)}"


# A caller's X-Request-ID is echoed and logged: plain tokens only, never log syntax.
_CALLER_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_of(request: web.Request) -> str:
    given = request.headers.get("X-Request-ID")
    if given is not None and _CALLER_ID.fullmatch(given):
        return given
    return next_request_id()


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """One layer per request: request id, API token, errors as JSON, access log, metrics.

    A single middleware rather than three: each layer is a coroutine frame on a path
    that runs thousands of times a second.
    """
    request_id = request_id_of(request)
    # Each request runs in a task of its own (a copy of the connection's context), so
    # nothing bound here outlives it: no clear_contextvars() walk needed.
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    app = request.app  # a property that walks the match info: looked up once
    settings = app[keys.SETTINGS]
    try:
        if settings.api_token is not None:
            _check_api_token(request, settings.api_token.get_secret_value())
        response = await handler(request)
    except Exception as exc:
        response = error_to_response(exc)
    if not response.prepared:
        response.headers["X-Request-ID"] = request_id
        if is_dashboard_path(request.path):
            # Here rather than in on_response_prepare: a signal is a coroutine per request.
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
    duration = time.perf_counter() - started
    route = route_name(request)
    status = response.status
    metrics = app.get(keys.METRICS)
    if metrics is not None:
        metrics.observe_request(request.method, route, status, duration)
    # Successes are counted and timed in the metrics and recorded by the database: a
    # line each at thousands of ingests a second is noise (and cost a fifth of them).
    access = logs.access_logger()
    if status >= 500:
        emit = access.error
    elif duration >= settings.slow_request_s:
        emit = access.warning
    elif status >= 400:
        emit = access.info
    elif logs.access_debug():
        emit = access.debug
    else:
        return response  # the line would be dropped: not even its fields are built
    emit(
        "request",
        request_id=request_id,
        method=request.method,
        route=route,
        status=status,
        duration_ms=round(duration * 1000, 2),
    )
    return response


def error_to_response(exc: Exception) -> web.StreamResponse:
    """Every failure as {"error": {...}}; unexpected ones logged, answered without internals."""
    if isinstance(exc, errors.ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.reason or code
        if exc.status == 413:
            message = "request body too large"
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return error_response(exc.status, code, message, headers=headers)
    if isinstance(exc, StorageError):
        try:
            return _storage_error(exc)
        except StorageError:
            log.exception("storage_error")
            return error_response(500, "internal_error", "internal server error")
    log.error("unhandled_error", exc_info=exc)
    return error_response(500, "internal_error", "internal server error")


def bearer_matches(request: web.Request, expected: str) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


def _check_api_token(request: web.Request, token: str) -> None:
    """With MSGLOG_API_TOKEN set, /api/* needs it (admin routes check their own token)."""
    path = request.path
    if (
        path.startswith("/api/")
        and not path.startswith("/api/admin/")
        and not bearer_matches(request, token)
    ):
        raise errors.Unauthorized(
            "missing or wrong API token", headers={"WWW-Authenticate": "Bearer"}
        )
