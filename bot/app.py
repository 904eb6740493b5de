"""The application factory: create_app(settings) -> web.Application."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from storage import AsyncDatabase

from . import keys
from .delivery import delivery_ctx
from .live import ChangeHub
from .metrics import Metrics
from .middleware import request_middleware
from .retention import retention_ctx
from .routes import setup_routes
from .settings import Settings


def open_database(settings: Settings) -> AsyncDatabase:
    return AsyncDatabase(
        settings.database_target(),
        batch_size=settings.write_batch_size,
        flush_interval=settings.write_flush_interval_ms / 1000,
        queue_max=settings.write_queue_max,
        read_pool_min=settings.read_pool_min,
        read_pool_max=max(settings.read_pool_min, settings.read_pool_max),
        query_timeout=settings.query_timeout_s,
        synchronous=settings.synchronous,
        enqueue_timeout=settings.write_enqueue_timeout_s,
        checkpoints=settings.checkpoints,
    )


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    db = open_database(app[keys.SETTINGS])
    await db.init()
    app[keys.DB] = db
    app[keys.METRICS].bind(db)
    hub = ChangeHub(db)
    app[keys.HUB] = hub
    yield
    hub.close()
    # Drains the write queue: every write already accepted is committed before exit.
    await db.close()


async def close_streams(app: web.Application) -> None:
    """Live-tail streams end at shutdown instead of holding it for the grace period."""
    if keys.HUB in app:
        app[keys.HUB].close()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[request_middleware],
    )
    app[keys.SETTINGS] = settings
    app[keys.METRICS] = Metrics()
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(retention_ctx)
    app.on_shutdown.append(close_streams)
    setup_routes(app)
    app.cleanup_ctx.append(delivery_ctx)  # after admin's secrets_ctx: the key is loaded
    return app
