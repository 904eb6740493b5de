"""The OpenAPI 3.1 document, generated from the pydantic models the handlers validate with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .admin_models import AccountCreate, AccountOut, AccountPage, AccountPatch, AccountQuery
from .models import (
    MAX_INT64,
    ErrorOut,
    ExportQuery,
    IdsOut,
    ListQuery,
    MessageIn,
    MessageOut,
    MessagePatch,
    PageOut,
    StatsOut,
    StatsQuery,
    StreamQuery,
)
from .platforms import receivers
from .settings import Settings

REF = "#/components/schemas/{model}"
# What a platform's webhook looks like does not depend on settings: defaults, no env read.
_NO_SETTINGS = Settings.model_construct()
VERSION = "0.1.0"


def _ref(model: type[BaseModel] | str) -> dict[str, str]:
    return {"$ref": REF.format(model=model if isinstance(model, str) else model.__name__)}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_MEANINGS = {
    400: "the body is not JSON (or not in the form this route takes)",
    401: "missing or wrong token",
    404: "no such resource",
    409: "conflicts with what is stored",
    413: "body too large",
    422: "invalid fields or query parameters (unknown ones too); details name each one",
    429: "too many failed authentications from this client; see Retry-After",
    503: "the database cannot take the request right now (overloaded, unwritable, query "
    "timeout); see Retry-After",
}
DISABLED = (
    "the feature is switched off by settings (error code `disabled`; a request without "
    "the credential header gets 401 first); otherwise no such resource"
)


def _errors(*statuses: int, disabled: bool = False) -> dict[str, Any]:
    answers = {}
    for status in statuses:
        meaning = DISABLED if status == 404 and disabled else ERROR_MEANINGS[status]
        answers[str(status)] = _json(_ref(ErrorOut), meaning)
    return answers


def _query(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        prop.pop("title", None)
        description = prop.pop("description", None)
        if prop.get("default", 0) is None:
            prop.pop("default")
        if "anyOf" in prop:
            # Query strings have no null: the parameter is simply left out.
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            prop.update(options[0] if len(options) == 1 else {"anyOf": options})
        param = {"name": name, "in": "query", "required": False, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def _allows_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    return any(_allows_null(option) for option in schema.get("anyOf", []))


def _drop_null_defaults(schemas: dict[str, Any]) -> None:
    """A field that may be left out but not sent as null has no (null) default to show."""
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            if "default" in prop and prop["default"] is None and not _allows_null(prop):
                del prop["default"]


ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
OK = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
NOT_READY = {
    "type": "object",
    "required": ["status", "problems"],
    "properties": {
        "status": {"const": "not_ready"},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}
POOL = {
    "type": "object",
    "description": "Counters of the database's writer, read pool and WAL (names may be added)",
    "required": ["writer", "read_pool", "wal"],
    "properties": {
        "writer": {"type": "object", "description": "queue_depth, batches, rows, errors..."},
        "read_pool": {"type": "object", "description": "size, in_use, waiting, waits..."},
        "wal": {"type": "object", "description": "bytes, checkpoints, pinned..."},
    },
}
ACK = {
    "type": "object",
    "required": ["ok", "duplicate"],
    "properties": {
        "ok": {"const": True},
        "duplicate": {
            "type": "boolean",
            "description": "a retry of a delivery already handled, or a message already stored",
        },
    },
}
STREAM_EVENTS = """Server-sent events, one per new or updated row, as they commit:

- `event: message`: `data` is a MessageOut (JSON). Its `id:` is a change-sequence number
  that only grows (an updated row comes again with a new one); a reconnecting client
  sends the last one back as the `Last-Event-ID` header (or `?after_id=`) and first gets
  the rows it missed.
- `event: overflow` (`data: {}`): the client fell behind (or missed more than can be
  replayed); the stream ends; reload, then reconnect.
- `event: error` (`data: {}`): the server could not go on (a database read failed); the
  stream ends; reconnecting with the last id resumes.

Comment lines (`: ping`) keep the connection open. The stream never ends by itself."""


def build() -> dict[str, Any]:
    # Here, not at the top: the route modules import this one for its helpers.
    from .routes import admin_filters, admin_routes, deliveries, failures, resend

    inputs: list[type[BaseModel]] = [MessageIn, MessagePatch, AccountCreate, AccountPatch]
    outputs: list[type[BaseModel]] = [
        MessageOut, PageOut, IdsOut, StatsOut, ErrorOut, AccountOut, AccountPage
    ]
    _, defs = models_json_schema(
        [(m, "validation") for m in inputs] + [(m, "serialization") for m in outputs],
        ref_template=REF,
    )
    schemas: dict[str, Any] = defs.get("$defs", {})
    for receiver in receivers(_NO_SETTINGS).values():
        schemas.update(receiver.schemas())
    _drop_null_defaults(schemas)
    body_in = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        _ref(MessageIn),
                        {"type": "array", "items": _ref(MessageIn), "minItems": 1,
                         "maxItems": 1000},
                    ]
                }
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "msglog",
            "version": VERSION,
            "description": (
                "Message logger for chat-forwarding bots. With MSGLOG_API_TOKEN set, every "
                "/api/ route except /api/admin/ needs `Authorization: Bearer <token>` (else "
                "401); the admin routes need MSGLOG_ADMIN_TOKEN. Every route answers 422 "
                "to a query parameter it does not take. Errors are "
                '`{"error": {"code", "message", "details"}}`.'
            ),
        },
        "paths": {
            "/api/messages": {
                "post": {
                    "summary": "Log forwarding attempts (one object or a list)",
                    "description": (
                        "Answers 201 only after every row is committed. Channel and message "
                        "ids may be numbers; they are stored as their decimal text."
                    ),
                    "requestBody": body_in,
                    "responses": {"201": _json(_ref(IdsOut), "committed"),
                                  **_errors(400, 401, 413, 422, 503)},
                },
                "get": {
                    "summary": "Message logs, newest first, keyset paginated",
                    "parameters": _query(ListQuery),
                    "responses": {"200": _json(_ref(PageOut)), **_errors(401, 422, 503)},
                },
            },
            "/api/messages/{id}": {
                "get": {
                    "summary": "One message log",
                    "parameters": [ID_PARAM],
                    "responses": {"200": _json(_ref(MessageOut)),
                                  **_errors(401, 404, 422, 503)},
                },
                "patch": {
                    "summary": "Record a retry's outcome",
                    "parameters": [ID_PARAM],
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": _ref(MessagePatch)}}},
                    "responses": {"200": _json(_ref(MessageOut)),
                                  **_errors(400, 401, 404, 413, 422, 503)},
                },
            },
            "/api/messages/export": {
                "get": {
                    "summary": "All matching rows as CSV or NDJSON, streamed",
                    "parameters": _query(ExportQuery),
                    "responses": {
                        "200": {"description": "rows", "content": {
                            "text/csv": {"schema": {"type": "string"}},
                            "application/x-ndjson": {"schema": {"type": "string"}}}},
                        **_errors(401, 422, 503),
                    },
                },
            },
            "/api/messages/stream": _stream_path(),
            "/api/stats": {
                "get": {
                    "summary": "Totals, success rate, latency percentiles, time series",
                    "parameters": _query(StatsQuery),
                    "responses": {"200": _json(_ref(StatsOut)), **_errors(401, 422, 503)},
                },
            },
            **failures.openapi_paths(),
            **resend.openapi_paths(),
            **deliveries.openapi_paths(),
            **admin_routes.openapi_paths(),
            **admin_filters.openapi_paths(),
            **_admin_paths(),
            **_webhook_paths(),
            **_operations_paths(),
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "MSGLOG_ADMIN_TOKEN for /api/admin/",
                }
            },
        },
    }


def _stream_path() -> dict[str, Any]:
    last_event_id = {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "description": (
            "the id of the last event seen, sent by EventSource on reconnect; wins over "
            "?after_id=; a value that is not a number up to 18 digits is ignored"
        ),
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_INT64},
    }
    events = {
        "message": {"id": "change sequence number (only grows)", "data": _ref(MessageOut)},
        "overflow": {"data": {"type": "object"}, "ends_stream": True},
        "error": {"data": {"type": "object"}, "ends_stream": True},
    }
    return {
        "get": {
            "summary": "Live tail of new and updated rows (server-sent events)",
            "description": STREAM_EVENTS,
            "parameters": [*_query(StreamQuery), last_event_id],
            "responses": {
                "200": {
                    "description": "an endless text/event-stream; see the events above",
                    "content": {
                        "text/event-stream": {
                            "schema": {"type": "string"},
                            "x-events": events,
                        }
                    },
                },
                **_errors(401, 422),
            },
        }
    }


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _admin_paths() -> dict[str, Any]:
    """Admin routes: every one needs MSGLOG_ADMIN_TOKEN; 404 `disabled` while it is unset."""
    guarded = _errors(401, 404, 422, 429, disabled=True)
    secret_key = {"503": _json(_ref(ErrorOut), "the secret key is missing or unusable")}
    secured: dict[str, Any] = {"security": [{"bearer": []}]}
    return {
        "/api/admin/accounts": {
            "get": {
                **secured,
                "summary": "Bot accounts (never their secrets)",
                "parameters": _query(AccountQuery),
                "responses": {"200": _json(_ref(AccountPage)), **guarded,
                              **_errors(503)},
            },
            "post": {
                **secured,
                "summary": "Add a bot account; secrets are encrypted at rest",
                "requestBody": _body(AccountCreate),
                "responses": {"201": _json(_ref(AccountOut), "created"),
                              **_errors(400, 409, 413), **guarded, **secret_key},
            },
        },
        "/api/admin/accounts/{id}": {
            "get": {
                **secured,
                "summary": "One bot account",
                "parameters": [ID_PARAM],
                "responses": {"200": _json(_ref(AccountOut)), **guarded, **_errors(503)},
            },
            "patch": {
                **secured,
                "summary": "Change status, password or cookie (a secret given as null is cleared)",
                "parameters": [ID_PARAM],
                "requestBody": _body(AccountPatch),
                "responses": {"200": _json(_ref(AccountOut)),
                              **_errors(400, 413), **guarded, **secret_key},
            },
            "delete": {
                **secured,
                "summary": "Remove a bot account",
                "parameters": [ID_PARAM],
                "responses": {"204": {"description": "removed"}, **guarded, **_errors(503)},
            },
        },
    }


def _webhook_paths() -> dict[str, Any]:
    """Each receiving platform describes its own webhook (bot.platforms)."""
    return {
        f"/webhooks/{name}": receiver.openapi()
        for name, receiver in receivers(_NO_SETTINGS).items()
    }


def _operations_paths() -> dict[str, Any]:
    return {
        "/healthz": {"get": {
            "summary": "Liveness",
            "responses": {"200": _json(OK), **_errors(422)},
        }},
        "/readyz": {"get": {
            "summary": "Readiness: the database takes writes and answers reads",
            "responses": {
                "200": _json(OK),
                "503": _json(NOT_READY, "not ready"),
                **_errors(422),
            },
        }},
        "/health/pool": {"get": {
            "summary": "Writer, read pool and WAL counters",
            "responses": {"200": _json(POOL), **_errors(422)},
        }},
        "/metrics": {"get": {
            "summary": "Prometheus metrics (text exposition format)",
            "responses": {
                "200": {"description": "metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}}},
                **_errors(422),
            },
        }},
        "/openapi.json": {"get": {
            "summary": "This document",
            "responses": {"200": _json({"type": "object"}), **_errors(422)},
        }},
        "/docs": {"get": {
            "summary": "This document as a page to read (self-contained, no external assets)",
            "responses": {
                "200": {"description": "HTML",
                        "content": {"text/html": {"schema": {"type": "string"}}}},
                **_errors(422),
            },
        }},
    }
