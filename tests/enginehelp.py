"""Engine-neutral stand-ins for what tests used to do with sqlite3 on the file."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.settings import Settings


@asynccontextmanager
async def hold_writes(target: str | Path) -> AsyncIterator[None]:
    """A foreign writer holds the write lock: msglog's writes wait, its reads do not.

    SQLite: BEGIN IMMEDIATE on the file. PostgreSQL: a transaction holding every table of
    the schema in EXCLUSIVE mode (which still lets plain reads through).
    """
    if isinstance(target, str):
        import asyncpg  # type: ignore[import-untyped]

        conn = await asyncpg.connect(target)
        try:
            tables = await conn.fetch(
                "SELECT quote_ident(tablename) AS name FROM pg_tables "
                "WHERE schemaname = current_schema()"
            )
            await conn.execute("BEGIN")
            await conn.execute(
                f"LOCK TABLE {', '.join(t['name'] for t in tables)} IN EXCLUSIVE MODE"
            )
            try:
                yield
            finally:
                await conn.execute("ROLLBACK")
        finally:
            await conn.close()
        return
    blocker = sqlite3.connect(target, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def engine_env(settings: Settings) -> dict[str, str]:
    """Environment for a msglog process (the CLI, a server) on the same engine as `settings`.

    An SQLite path is passed as MSGLOG_DB_PATH by the caller; PostgreSQL needs its URL and
    the key every instance on it shares.
    """
    if settings.database_url is None:
        return {}
    env = {"MSGLOG_DATABASE_URL": settings.database_url.get_secret_value()}
    if settings.secret_key is not None:
        env["MSGLOG_SECRET_KEY"] = settings.secret_key.get_secret_value()
    return env
