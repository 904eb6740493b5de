"""Admin API for forward routes: target URLs in, never out (redacted in every answer)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import structlog
from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from storage import forward_routes
from storage.forward_routes import DuplicateRoute, NewRoute

from .. import keys
from ..errors import Conflict, NotFound
from ..models import MAX_INT64
from ..platforms import SOURCES, TARGETS, URL_TARGETS
from ..platforms.base import BadTargetUrl, check_target_url, redact_url
from ..validation import no_query, parse_model, read_json
from .admin import admin_only, box

log = structlog.get_logger("msglog.admin")
routes = web.RouteTableDef()


def _among(names: tuple[str, ...]) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in names:
            raise ValueError(f"must be one of: {', '.join(names)}")
        return value

    return check


# From bot.platforms, so that a new platform is offered here without touching this module.
Source = Annotated[
    str, AfterValidator(_among(SOURCES)), WithJsonSchema({"type": "string", "enum": [*SOURCES]})
]
TargetPlatform = Annotated[
    str, AfterValidator(_among(TARGETS)), WithJsonSchema({"type": "string", "enum": [*TARGETS]})
]
Channel = Field(min_length=1, max_length=200)


# What check_target_url accepts, in a form JSON Schema and the docs can say (no \s: it
# means different things in Python and ECMAScript).
TARGET_URL_PATTERN = (
    r"^(https://[A-Za-z0-9.-]+|http://(localhost|127\.0\.0\.1|\[::1\]))"
    r"(:[0-9]{1,4})?([/?#][!-~]*)?$"
)


class RouteCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        # Webhook targets need their URL: said in the schema as the validator says it.
        json_schema_extra={"if": {"properties": {"target_platform": {
            "enum": [*URL_TARGETS]}}, "required": ["target_platform"]},
            "then": {"required": ["target_url"],
                     "properties": {"target_url": {"type": "string", "minLength": 1}}}},
    )

    source_platform: Source
    source_channel: str = Channel
    target_platform: TargetPlatform
    target_channel: str = Channel
    target_url: str | None = Field(None, max_length=2000, pattern=TARGET_URL_PATTERN)
    enabled: bool = True

    @field_validator("target_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_target_url(value)
        except BadTargetUrl as exc:
            raise ValueError(str(exc)) from None

    @model_validator(mode="after")
    def _url_where_needed(self) -> RouteCreate:
        if self.target_platform in URL_TARGETS and not self.target_url:
            raise ValueError(f"a {self.target_platform} route needs its webhook target_url")
        return self


class RoutePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    enabled: bool


class RouteOut(BaseModel):
    id: int
    source_platform: str
    source_channel: str
    target_platform: str
    target_channel: str
    target_url: str | None = Field(description="scheme and host only: the rest is a secret")
    enabled: bool
    created_at: str
    updated_at: str


class RouteList(BaseModel):
    items: list[RouteOut]


def shown(request: web.Request, row: dict[str, Any]) -> RouteOut:
    # Only scheme and host ever leave: the URL is opened to be cut, then dropped.
    url = row.get("target_url")
    if url and request.app[keys.DB].secret_box is not None:
        url = forward_routes.open_url(request.app[keys.DB], row)
    return RouteOut.model_validate({**row, "target_url": redact_url(url)})


def route_id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if value > MAX_INT64:
        raise NotFound("no such route")
    return value


async def _one(request: web.Request, rid: int) -> web.Response:
    row = await forward_routes.get(request.app[keys.DB], rid)
    if row is None:
        raise NotFound("no such route")
    return web.json_response(shown(request, row).model_dump(mode="json"))


@routes.get("/api/admin/routes")
@admin_only
async def list_routes(request: web.Request) -> web.StreamResponse:
    no_query(request)
    rows = await forward_routes.list_all(request.app[keys.DB])
    return web.json_response(
        RouteList(items=[shown(request, r) for r in rows]).model_dump(mode="json")
    )


@routes.post("/api/admin/routes")
@admin_only
async def create_route(request: web.Request) -> web.StreamResponse:
    no_query(request)
    body = parse_model(RouteCreate, await read_json(request))
    if body.target_url:
        box(request)  # 503 rather than a URL stored in the clear
    try:
        rid = await forward_routes.add(
            request.app[keys.DB],
            NewRoute(body.source_platform, body.source_channel, body.target_platform,
                     body.target_channel, body.target_url, body.enabled),
        )
    except DuplicateRoute:
        raise Conflict("a route from this source channel to this target exists") from None
    log.info("route_created", route_id=rid, source=body.source_platform,
             target=body.target_platform, target_url=redact_url(body.target_url))
    response = await _one(request, rid)
    response.set_status(201)
    response.headers["Location"] = f"/api/admin/routes/{rid}"
    return response


@routes.patch(r"/api/admin/routes/{id:\d+}")
@admin_only
async def update_route(request: web.Request) -> web.StreamResponse:
    rid = route_id(request)
    no_query(request)
    body = parse_model(RoutePatch, await read_json(request))
    if not await forward_routes.set_enabled(request.app[keys.DB], rid, body.enabled):
        raise NotFound("no such route")
    log.info("route_updated", route_id=rid, enabled=body.enabled)
    return await _one(request, rid)


@routes.delete(r"/api/admin/routes/{id:\d+}")
@admin_only
async def delete_route(request: web.Request) -> web.StreamResponse:
    rid = route_id(request)
    no_query(request)
    if not await forward_routes.remove(request.app[keys.DB], rid):
        raise NotFound("no such route")
    log.info("route_deleted", route_id=rid)
    return web.Response(status=204)


def setup(app: web.Application) -> None:
    app.add_routes(routes)


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    if model is RouteList:
        return {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": _schema(RouteOut)}}}
    return model.model_json_schema()


def _json(model: type[BaseModel], description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": _schema(model)}}}


def openapi_paths() -> dict[str, Any]:
    """This module's OpenAPI 3.1 path items (bearer admin token on each)."""
    # Imported here: bot.openapi imports this module to call this function.
    from ..openapi import _errors

    security: list[dict[str, list[str]]] = [{"bearer": []}]
    errors = _errors(401, 404, 422, 429, 503, disabled=True)
    rid = {"name": "id", "in": "path", "required": True,
           "schema": {"type": "integer", "minimum": 1}}
    return {
        "/api/admin/routes": {
            "get": {"summary": "List forward routes (target_url redacted)",
                    "security": security,
                    "responses": {"200": _json(RouteList, "the routes"), **errors}},
            "post": {"summary": "Create a forward route", "security": security,
                     "requestBody": {"required": True, "content": {
                         "application/json": {"schema": _schema(RouteCreate)}}},
                     "responses": {"201": _json(RouteOut, "the new route"),
                                   **_errors(400, 409, 413),
                                   **errors}},
        },
        "/api/admin/routes/{id}": {
            "parameters": [rid],
            "patch": {"summary": "Enable or disable a route", "security": security,
                      # An empty or non-JSON body is a 400, as on every JSON route.
                      "requestBody": {"required": True, "content": {
                          "application/json": {"schema": _schema(RoutePatch)}}},
                      "responses": {"200": _json(RouteOut, "the route"),
                                    **_errors(400, 413), **errors}},
            "delete": {"summary": "Remove a route (its queued deliveries end as dead)",
                       "security": security,
                       "responses": {"204": {"description": "removed"}, **errors}},
        },
    }
