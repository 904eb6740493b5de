from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.settings import Settings
from storage import AsyncDatabase


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "messages.db"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[AsyncDatabase]:
    database = AsyncDatabase(db_path)
    await database.init()
    yield database
    await database.close()


@pytest.fixture
def make_settings(db_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"db_path": db_path, "write_flush_interval_ms": 5}
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient[Any, Any]:
    result: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    return result
