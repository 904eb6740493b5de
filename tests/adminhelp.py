"""Shared bits for the admin account tests: the token, an admin app, secrets to look for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot import keys
from bot.app import create_app
from bot.secrets import SECRETS
from bot.settings import Settings
from storage import AsyncDatabase
from storage.secretbox import SecretBox

TOKEN = "admin-token-Zq8vW2"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "pw-PLAINTEXT-7f3a91"
COOKIE = "SESSION=cookie-PLAINTEXT-c0ffee; path=/"


async def start(aiohttp_client: Any, make_settings: Callable[..., Settings], **over: Any) -> Any:
    """A test client for an app with the admin token set (unless overridden)."""
    values: dict[str, Any] = {"admin_token": TOKEN}
    values.update(over)
    return await aiohttp_client(create_app(make_settings(**values)))


def db_of(client: Any) -> AsyncDatabase:
    db: AsyncDatabase = client.app[keys.DB]
    return db


def box_of(client: Any) -> SecretBox:
    return client.app[SECRETS].require()


async def create(client: Any, **body: Any) -> dict[str, Any]:
    body.setdefault("email", "bot@example.com")
    resp = await client.post("/api/admin/accounts", json=body, headers=AUTH)
    assert resp.status == 201, await resp.text()
    created: dict[str, Any] = await resp.json()
    return created


async def raw_row(client: Any, account_id: int) -> dict[str, Any]:
    row = await db_of(client).execute_one(
        "SELECT password_encrypted, cookie FROM accounts WHERE id = ?", (account_id,)
    )
    assert row is not None
    return row
