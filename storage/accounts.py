"""Account queries: the bot accounts admins manage (secrets are opaque strings here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .timeutil import ms_to_iso, now_ms

if TYPE_CHECKING:
    from .database import AsyncDatabase

COLUMNS = "id, email, password_encrypted, cookie, status, last_active, created_at"


def present(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["last_active"] = ms_to_iso(row.get("last_active"))
    out["created_at"] = ms_to_iso(row.get("created_at"))
    return out


async def add(
    db: AsyncDatabase, email: str, password_encrypted: str | None, cookie: str | None
) -> int:
    result = await db.execute_write(
        "INSERT INTO accounts (email, password_encrypted, cookie, created_at) "
        "VALUES (?, ?, ?, ?)",
        (email, password_encrypted, cookie, now_ms()),
    )
    assert result.lastrowid is not None
    return result.lastrowid


async def list_all(db: AsyncDatabase) -> list[dict[str, Any]]:
    rows = await db.execute_read(f"SELECT {COLUMNS} FROM accounts ORDER BY id")
    return [present(r) for r in rows]


async def get(db: AsyncDatabase, account_id: int) -> dict[str, Any] | None:
    row = await db.execute_one(f"SELECT {COLUMNS} FROM accounts WHERE id = ?", (account_id,))
    return present(row) if row else None


async def set_status(db: AsyncDatabase, account_id: int, status: str) -> bool:
    result = await db.execute_write(
        "UPDATE accounts SET status = ?, last_active = ? WHERE id = ?",
        (status, now_ms(), account_id),
    )
    return result.rowcount > 0
