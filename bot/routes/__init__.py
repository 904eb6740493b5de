"""Every route module registers its own routes here."""

from __future__ import annotations

from aiohttp import web

from . import health


def setup_routes(app: web.Application) -> None:
    health.setup(app)
