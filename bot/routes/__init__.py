"""Every route module registers its own routes here."""

from __future__ import annotations

from aiohttp import web

from . import (
    admin,
    admin_filters,
    admin_routes,
    dashboard,
    deliveries,
    failures,
    feed,
    health,
    messages,
    openapi,
    resend,
    stats,
    webhooks,
)


def setup_routes(app: web.Application) -> None:
    health.setup(app)
    feed.setup(app)
    messages.setup(app)
    stats.setup(app)
    failures.setup(app)
    resend.setup(app)
    deliveries.setup(app)
    openapi.setup(app)
    webhooks.setup(app)
    admin.setup(app)
    admin_routes.setup(app)
    admin_filters.setup(app)
    dashboard.setup(app)
