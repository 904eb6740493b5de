from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.settings import Settings
from storage import AsyncDatabase
from tests.pg_server import fresh_database, pg_server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "messages.db"


PG_TEST_KEY = "m3y9bN8bq2X5tB0kVwq5o0l1c1n5a6p1Ygk9hZbFhJ4="


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A module or test marked engines("sqlite", "postgres") runs once on each: the `db`,
    # `db_target`, `settings` and `client` fixtures then open that engine.
    marker = metafunc.definition.get_closest_marker("engines")
    if marker is not None and "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", marker.args, indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The engine this test runs on: "sqlite" unless marked engines(...)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
async def db_target(
    request: pytest.FixtureRequest, engine: str, db_path: Path
) -> AsyncIterator[str | Path]:
    """What AsyncDatabase opens: a fresh SQLite file, or a fresh PostgreSQL database."""
    if engine == "postgres":
        async with fresh_database(request.getfixturevalue("pg_url")) as url:
            yield url
    else:
        yield db_path


@pytest.fixture
async def db(db_target: str | Path) -> AsyncIterator[AsyncDatabase]:
    database = AsyncDatabase(db_target)
    await database.init()
    yield database
    await database.close()


@pytest.fixture
def aiohttp_client(db_target: str | Path, aiohttp_client: Any) -> Any:
    """pytest-aiohttp's client factory, set up after the database and torn down before it:
    an app still running must not find its PostgreSQL database dropped under it."""
    return aiohttp_client


@pytest.fixture
def make_settings(db_path: Path, db_target: str | Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {"db_path": db_path, "write_flush_interval_ms": 5}
        if isinstance(db_target, str):
            values["database_url"] = db_target
            # On a server every instance needs the same key; a test may ask for none.
            values["secret_key"] = PG_TEST_KEY
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


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of the `msglog` database on one throwaway PostgreSQL for the whole session."""
    with pg_server() as server:
        yield server.url


@pytest.fixture
async def pg_database(pg_url: str) -> AsyncIterator[str]:
    """URL of a new empty database for this test alone, dropped after it."""
    async with fresh_database(pg_url) as url:
        yield url
