"""Typed keys for the state the application shares."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from storage import AsyncDatabase

from .settings import Settings

if TYPE_CHECKING:
    from .live import ChangeHub
    from .metrics import Metrics

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", AsyncDatabase)
HUB: web.AppKey[ChangeHub] = web.AppKey("hub")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
