"""HTTP-facing errors: each maps to one status and the JSON error body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Base: answered as {"error": {"code", "message", "details"}} with `status`."""

    status = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Disabled(NotFound):
    """A feature switched off by settings: for the client, the route is not there."""

    code = "disabled"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class Unprocessable(ApiError):
    status = 422
    code = "validation_error"


class TooManyRequests(ApiError):
    status = 429
    code = "too_many_requests"


class ServiceUnavailable(ApiError):
    status = 503
    code = "unavailable"


class InsufficientStorage(ApiError):
    status = 507
    code = "insufficient_storage"
