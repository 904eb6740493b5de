"""Request bodies and query strings into pydantic models, or a clear 400/422."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from .errors import BadRequest, Unprocessable

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
    body = await request.read()
    if not body:
        raise BadRequest("request body is empty; expected JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("request body is not valid UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError):
        # Nesting too deep, or an integer past Python's digit limit.
        raise BadRequest("JSON body is too deeply nested or has an oversized number") from None


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
