"""The older runtime's channel_mappings + bot_configs become routes when msglog opens it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot.app import create_app
from bot.settings import Settings
from storage import AsyncDatabase, forward_routes, legacy_import
from storage.secretbox import SecretBox
from tests.legacy import add_forwarding_setup, make_legacy_db

HOOK = "https://discord.example/api/webhooks/9/legacy-hook"


async def test_mappings_become_routes_in_place(db_path: Path) -> None:
    make_legacy_db(db_path)
    add_forwarding_setup(db_path)
    async with AsyncDatabase(db_path) as db:
        routes = await forward_routes.list_all(db)
        urls = {r["target_channel"]: forward_routes.open_url(db, r) for r in routes}
    assert [(r["source_channel"], r["target_platform"], r["target_channel"], r["enabled"])
            for r in routes] == [
        ("chan-1", "discord", "general", True),
        ("chan-1", "telegram", "-1001", True),
        ("chan-2", "discord", "quiet", False),
    ]
    assert urls == {"general": HOOK, "-1001": None, "quiet": HOOK}


async def test_migrated_webhook_url_is_sealed_once_the_service_starts(
    db_path: Path, aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    make_legacy_db(db_path)
    add_forwarding_setup(db_path)
    client = await aiohttp_client(create_app(make_settings()))
    await client.close()
    with sqlite3.connect(db_path) as conn:
        stored = [r[0] for r in conn.execute(
            "SELECT target_url FROM forward_routes WHERE target_url IS NOT NULL")]
    assert len(stored) == 2
    assert all(s.startswith("fernet:") and "legacy-hook" not in s for s in stored)


async def test_import_brings_the_mappings_as_routes_with_urls_sealed(tmp_path: Path) -> None:
    source = tmp_path / "old.db"
    make_legacy_db(source)
    add_forwarding_setup(source)
    box = SecretBox([Fernet.generate_key()])
    async with AsyncDatabase(tmp_path / "new.db", secret_box=box) as db:
        first = await legacy_import.import_file(db, source)
        again = await legacy_import.import_file(db, source)
        routes = await forward_routes.list_all(db)
    assert (first.routes_imported, again.routes_imported, again.routes_skipped) == (3, 0, 3)
    assert all(r["target_url"] is None or SecretBox.is_sealed(r["target_url"]) for r in routes)
    assert [r["target_channel"] for r in routes] == ["general", "-1001", "quiet"]
