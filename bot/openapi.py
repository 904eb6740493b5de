"""The OpenAPI document, generated from the pydantic models the handlers validate with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from .admin_models import AccountCreate, AccountOut, AccountPage, AccountPatch, AccountQuery
from .models import (
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
)

REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(s): _json(_ref(ErrorOut), "error") for s in statuses}


def _query(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        prop.pop("title", None)
        if prop.get("default", 0) is None:
            prop.pop("default")
        if "anyOf" in prop:
            # Query strings have no null: the parameter is simply left out.
            options = [o for o in prop.pop("anyOf") if o.get("type") != "null"]
            prop.update(options[0] if len(options) == 1 else {"anyOf": options})
        params.append({"name": name, "in": "query", "required": False, "schema": prop})
    return params


ID_PARAM = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}


def build() -> dict[str, Any]:
    inputs: list[type[BaseModel]] = [MessageIn, MessagePatch, AccountCreate, AccountPatch]
    outputs: list[type[BaseModel]] = [
        MessageOut, PageOut, IdsOut, StatsOut, ErrorOut, AccountOut, AccountPage
    ]
    _, defs = models_json_schema(
        [(m, "validation") for m in inputs] + [(m, "serialization") for m in outputs],
        ref_template=REF,
    )
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
    ok = {"type": "object", "properties": {"status": {"type": "string"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "msglog", "version": "0.1.0"},
        "paths": {
            "/api/messages": {
                "post": {
                    "summary": "Log forwarding attempts (one object or a list)",
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
                    "responses": {"200": _json(_ref(MessageOut)), **_errors(401, 404)},
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
                        **_errors(401, 422),
                    },
                },
            },
            "/api/stats": {
                "get": {
                    "summary": "Totals, success rate, latency percentiles, time series",
                    "parameters": _query(StatsQuery),
                    "responses": {"200": _json(_ref(StatsOut)), **_errors(401, 422)},
                },
            },
            **_admin_paths(),
            **_webhook_paths(),
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": _json(ok)}}},
            "/readyz": {"get": {"summary": "Readiness: the database takes writes",
                                "responses": {"200": _json(ok), "503": _json(ok, "not ready")}}},
        },
        "components": {
            "schemas": defs["$defs"] if "$defs" in defs else defs,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _body(model: type[BaseModel]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(model)}}}


def _admin_paths() -> dict[str, Any]:
    """Admin routes: every one needs MSGLOG_ADMIN_TOKEN; 503 while admin is disabled."""
    guarded = _errors(401, 429, 503)
    secured: dict[str, Any] = {"security": [{"bearer": []}]}
    return {
        "/api/admin/accounts": {
            "get": {
                **secured,
                "summary": "Bot accounts (never their secrets)",
                "parameters": _query(AccountQuery),
                "responses": {"200": _json(_ref(AccountPage)), **_errors(422), **guarded},
            },
            "post": {
                **secured,
                "summary": "Add a bot account; secrets are encrypted at rest",
                "requestBody": _body(AccountCreate),
                "responses": {"201": _json(_ref(AccountOut), "created"),
                              **_errors(400, 409, 413, 422), **guarded},
            },
        },
        "/api/admin/accounts/{id}": {
            "get": {
                **secured,
                "summary": "One bot account",
                "parameters": [ID_PARAM],
                "responses": {"200": _json(_ref(AccountOut)), **_errors(404), **guarded},
            },
            "patch": {
                **secured,
                "summary": "Change status, password or cookie",
                "parameters": [ID_PARAM],
                "requestBody": _body(AccountPatch),
                "responses": {"200": _json(_ref(AccountOut)),
                              **_errors(400, 404, 413, 422), **guarded},
            },
            "delete": {
                **secured,
                "summary": "Remove a bot account",
                "parameters": [ID_PARAM],
                "responses": {"204": {"description": "removed"}, **_errors(404), **guarded},
            },
        },
    }


def _webhook_paths() -> dict[str, Any]:
    ack = _json({"type": "object"}, "acknowledged (or the KOOK challenge answered)")
    raw = {"required": True, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object"}}}}
    return {
        "/webhooks/kook": {"post": {
            "summary": "KOOK webhook: zlib unless ?compress=0, optionally AES-encrypted",
            "requestBody": raw,
            "responses": {"200": ack, **_errors(400, 401, 413, 422, 503)},
        }},
        "/webhooks/telegram": {"post": {
            "summary": "Telegram webhook: X-Telegram-Bot-Api-Secret-Token required",
            "requestBody": raw,
            "responses": {"200": ack, **_errors(400, 401, 413, 422, 503)},
        }},
    }
