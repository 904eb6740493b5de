"""Raw bytes to a JSON object, or a 400: never a 500 for hostile input."""

from __future__ import annotations

import json
from typing import Any

from .errors import BadRequest


def decode(raw: bytes, what: str = "body") -> Any:
    """Strict UTF-8 JSON of any shape."""
    if not raw:
        raise BadRequest(f"{what} is empty; expected JSON")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not valid UTF-8") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(
            f"{what} is not valid JSON (line {exc.lineno} column {exc.colno})"
        ) from None
    # ValueError: an integer past Python's digit limit; RecursionError: nesting too deep.
    except (ValueError, RecursionError):
        raise BadRequest(
            f"{what} is not acceptable JSON (number too long or nesting too deep)"
        ) from None
    return value


def decode_object(raw: bytes, what: str = "body") -> dict[str, Any]:
    """Strict UTF-8 JSON whose top level is an object."""
    value = decode(raw, what)
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object")
    return value
