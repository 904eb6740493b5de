"""GET /openapi.json and GET /docs, the same document for programs and for people."""

from __future__ import annotations

import functools
import json
from typing import Any

from aiohttp import web

from .. import docs_page, openapi
from ..validation import no_query

routes = web.RouteTableDef()


@functools.cache
def _spec() -> dict[str, Any]:
    # Built from the models once: they do not change while the process runs.
    return openapi.build()


@functools.cache
def _spec_body() -> bytes:
    return json.dumps(_spec(), ensure_ascii=False).encode()


@functools.cache
def _docs_body() -> bytes:
    return docs_page.render(_spec()).encode()


@routes.get("/openapi.json")
async def spec(request: web.Request) -> web.Response:
    no_query(request)
    return web.Response(body=_spec_body(), content_type="application/json")


@routes.get("/docs")
async def docs(request: web.Request) -> web.Response:
    no_query(request)
    return web.Response(
        body=_docs_body(),
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": docs_page.CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def setup(app: web.Application) -> None:
    app.add_routes(routes)
