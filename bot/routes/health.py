"""Operations endpoints: liveness, readiness, pool stats, metrics."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from storage import StorageError

from .. import keys
from ..validation import no_query

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    no_query(request)
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    """Ready when the database takes writes; after an I/O failure, probe with a real one."""
    no_query(request)
    db = request.app[keys.DB]
    problems: list[str] = []
    stuck = db.writer_problem()
    if stuck is not None:
        problems.append(f"database not writable: {stuck}")
    elif not db.writable:
        try:
            await db.probe_write()
        except StorageError as exc:
            problems.append(f"database not writable: {exc}")
    try:
        await db.execute_one("SELECT 1 AS ok")
    except StorageError as exc:
        problems.append(f"database not readable: {exc}")
    if problems:
        return web.json_response({"status": "not_ready", "problems": problems}, status=503)
    return web.json_response({"status": "ready"})


@routes.get("/health/pool")
async def pool(request: web.Request) -> web.Response:
    no_query(request)
    return web.json_response(request.app[keys.DB].stats())


@routes.get("/metrics")
async def metrics(request: web.Request) -> web.Response:
    no_query(request)
    body = request.app[keys.METRICS].render()
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


def setup(app: web.Application) -> None:
    app.add_routes(routes)
