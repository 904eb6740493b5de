"""GET /openapi.json."""

from __future__ import annotations

from aiohttp import web

from .. import openapi

routes = web.RouteTableDef()


@routes.get("/openapi.json")
async def spec(request: web.Request) -> web.Response:
    return web.json_response(openapi.build())


def setup(app: web.Application) -> None:
    app.add_routes(routes)
