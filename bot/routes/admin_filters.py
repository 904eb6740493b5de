"""GET /api/admin/filters: the older runtime's filter rules msglog keeps, and what each does."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from storage import forward_filters

from .. import keys
from ..validation import no_query
from .admin import admin_only

routes = web.RouteTableDef()


class FilterOut(BaseModel):
    id: int
    origin: str = Field(description="`in place` (the file's own table) or `import`")
    rule_type: str | None
    rule_value: str | None = Field(description="as the older runtime stored it")
    scope: str | None = Field(description="a source channel; null: every channel")
    enabled: bool = Field(description="as the older runtime had it")
    kind: str | None = Field(
        description="keyword_block, keyword_allow, sender_block, sender_allow, type_allow; "
        "null when msglog cannot read it"
    )
    terms: list[str]
    applies: bool = Field(description="msglog applies it when it queues deliveries")
    note: str = Field(description="what it does, or why msglog does not apply it")


class FilterList(BaseModel):
    items: list[FilterOut]


@routes.get("/api/admin/filters")
@admin_only
async def list_filters(request: web.Request) -> web.StreamResponse:
    no_query(request)
    rows = await forward_filters.list_all(request.app[keys.DB])
    body = FilterList(items=[FilterOut.model_validate(r) for r in rows])
    return web.json_response(body.model_dump(mode="json"))


def setup(app: web.Application) -> None:
    app.add_routes(routes)


def openapi_paths() -> dict[str, Any]:
    """This module's OpenAPI 3.1 path item (bearer admin token)."""
    # Imported here: bot.openapi imports this module to call this function.
    from ..openapi import _errors

    item = FilterOut.model_json_schema()
    listing = {"type": "object", "required": ["items"],
               "properties": {"items": {"type": "array", "items": item}}}
    return {
        "/api/admin/filters": {
            "get": {
                "summary": "The older runtime's filter rules: which msglog applies, and why "
                "not the others",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {"description": "every rule kept",
                            "content": {"application/json": {"schema": listing}}},
                    **_errors(401, 404, 422, 429, 503, disabled=True),
                },
            }
        }
    }
