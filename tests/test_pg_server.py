"""The throwaway PostgreSQL of tests/pg_server.py and the pg_url / pg_database fixtures."""

from __future__ import annotations

import socket
from pathlib import Path

import asyncpg
import pytest

from tests.pg_server import fresh_database, pg_server

PUBLIC_TABLES = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
_seen_databases: set[str] = set()


async def test_fresh_database_is_empty_and_takes_a_table(pg_database: str) -> None:
    conn = await asyncpg.connect(pg_database)
    try:
        assert await conn.fetchval(PUBLIC_TABLES) == 0
        await conn.execute("CREATE TABLE probe (id bigint PRIMARY KEY, content text)")
        await conn.execute("INSERT INTO probe VALUES (1, '消息')")
        assert await conn.fetch("SELECT id, content FROM probe") == [(1, "消息")]
    finally:
        await conn.close()


@pytest.mark.parametrize("which", ["first", "second"])
async def test_tests_never_share_a_database(pg_database: str, which: str) -> None:
    conn = await asyncpg.connect(pg_database)
    try:
        # Whichever runs second would see the table the other one left behind.
        assert await conn.fetchval(PUBLIC_TABLES) == 0
        name = await conn.fetchval("SELECT current_database()")
        assert name not in _seen_databases
        _seen_databases.add(name)
        await conn.execute(f"CREATE TABLE left_by_{which} (id int)")
    finally:
        await conn.close()


async def test_a_fresh_database_is_dropped_on_exit_even_while_in_use(pg_url: str) -> None:
    async with fresh_database(pg_url) as url:
        name = url.rsplit("/", 1)[1]
        left_open = await asyncpg.connect(url)
    conn = await asyncpg.connect(pg_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1",
                                   name) == 0
    finally:
        await conn.close()
    with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError)):
        await left_open.fetchval("SELECT 1")
    await left_open.close()


async def test_pg_trgm_indexes_text(pg_database: str) -> None:
    conn = await asyncpg.connect(pg_database)
    try:
        await conn.execute("CREATE EXTENSION pg_trgm")
        await conn.execute("CREATE TABLE logs (content text)")
        await conn.execute("CREATE INDEX logs_trgm ON logs USING gin (content gin_trgm_ops)")
        await conn.execute("INSERT INTO logs VALUES ('release build failed'), ('all good')")
        assert await conn.fetch("SELECT content FROM logs WHERE content ILIKE '%BUILD%'") == [
            ("release build failed",)]
    finally:
        await conn.close()


async def test_trigrams_are_made_of_chinese_text(pg_database: str) -> None:
    conn = await asyncpg.connect(pg_database)
    try:
        await conn.execute("CREATE EXTENSION pg_trgm")
        # Under the C locale no CJK character counts as a letter and this would be empty.
        assert await conn.fetchval("SELECT cardinality(show_trgm('消息转发失败'))") > 0
        assert await conn.fetchval("SELECT similarity('消息转发失败', '转发失败')") > 0
    finally:
        await conn.close()


class BodyFailed(Exception):
    """What a failing test raises inside pg_server()."""


def test_server_is_stopped_and_removed_when_the_body_fails() -> None:
    with pytest.raises(BodyFailed), pg_server() as server:
        folder = server.socket_dir
        assert (folder / f".s.PGSQL.{server.port}").is_socket()
        raise BodyFailed
    assert not folder.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=5).close()


def test_missing_binaries_say_how_to_install_them(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PG_BIN", str(tmp_path))
    with pytest.raises(RuntimeError, match="apt-get install postgresql-15"), pg_server():
        pass
