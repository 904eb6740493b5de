"""The dashboard: `GET /` and its static files, sent with a strict security policy."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from ..page_policy import CONTENT_SECURITY_POLICY, SECURITY_HEADERS

__all__ = ["CONTENT_SECURITY_POLICY", "SECURITY_HEADERS", "STATIC_DIR", "setup"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


async def index(request: web.Request) -> web.FileResponse:
    """The single page; everything else it needs is under /static/."""
    return web.FileResponse(STATIC_DIR / "index.html")


def setup(app: web.Application) -> None:
    """Register this module's routes."""
    app.router.add_get("/", index, name="dashboard")
    app.router.add_static("/static/", STATIC_DIR, name="static")
