"""Every route module registers its own routes here."""

from __future__ import annotations

from aiohttp import web

from . import admin, dashboard, health, messages, webhooks


def setup_routes(app: web.Application) -> None:
    health.setup(app)
    messages.setup(app)
    webhooks.setup(app)
    admin.setup(app)
    dashboard.setup(app)
