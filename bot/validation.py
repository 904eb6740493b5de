"""Request bodies and query strings into pydantic models, or a clear 400/422."""

from __future__ import annotations

from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import BadRequest, Unprocessable
from .jsonbody import decode

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """Field paths and messages only: never echo the (possibly huge, hostile) input."""
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False)
    ]


async def read_json(request: web.Request) -> Any:
    return decode(await request.read(), "request body")


def parse(adapter: TypeAdapter[T], data: Any) -> T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise Unprocessable("invalid fields", details=validation_details(exc)) from None


def parse_model(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Unprocessable("invalid fields", details=validation_details(exc)) from None


def parse_query(model: type[M], request: web.Request) -> M:
    """Query parameters (each given once) validated by `model`."""
    data: dict[str, str] = {}
    for key in request.query:
        values = request.query.getall(key)
        if len(values) > 1:
            raise Unprocessable(
                "repeated query parameter",
                details=[{"field": key, "message": "give this parameter once", "type": "repeat"}],
            )
        data[key] = values[0]
    return parse_model(model, data)


def no_query(request: web.Request) -> None:
    """422 for a route that takes no query parameters: a typo must not pass silently."""
    if request.query:
        names = sorted(set(request.query))
        raise Unprocessable(
            "this route takes no query parameters",
            details=[
                {"field": name, "message": "unknown query parameter", "type": "extra_forbidden"}
                for name in names
            ],
        )


def parse_json(adapter: TypeAdapter[T], raw: bytes, what: str = "request body") -> T:
    """Validate JSON bytes in one pass (pydantic parses them); errors as `decode` gives them.

    The one-pass parse is the hot path of ingestion. Any JSON it refuses goes through
    `decode` and `parse` instead, so malformed bodies get the same 400 and JSON that only
    Python's parser accepts (NaN, say) the same 422 as everywhere else.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8") from None
    try:
        return adapter.validate_json(text)
    except ValidationError as exc:
        if any(err["type"] == "json_invalid" for err in exc.errors(include_input=False)):
            return parse(adapter, decode(raw, what))
        raise Unprocessable("invalid fields", details=validation_details(exc)) from None
