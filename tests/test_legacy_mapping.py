"""One mapping of the older runtime's rows: migrating in place and importing agree."""

from __future__ import annotations

import shutil
from datetime import UTC
from pathlib import Path

from legacy import make_legacy_db

from storage import AsyncDatabase
from storage.legacy_import import import_file

LOG_FIELDS = (
    "kook_message_id, target_platform, target_channel, kook_channel_id, content, "
    "message_type, sender_name, status, error_message, latency_ms, attempts, created_at, "
    "updated_at"
)
ACCOUNT_FIELDS = "email, password_encrypted, cookie, status, last_active, created_at"


async def rows(db: AsyncDatabase, fields: str, table: str, key: str) -> list[dict[str, object]]:
    return await db.execute_read(f"SELECT {fields} FROM {table} ORDER BY {key}")


async def test_migrated_and_imported_rows_are_the_same(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    make_legacy_db(old, logs=30)
    migrated_path = tmp_path / "migrated.db"
    shutil.copyfile(old, migrated_path)
    async with AsyncDatabase(migrated_path, legacy_timezone=UTC) as migrated:
        in_place_logs = await rows(migrated, LOG_FIELDS, "message_logs", "kook_message_id")
        in_place_accounts = await rows(migrated, ACCOUNT_FIELDS, "accounts", "email")
    async with AsyncDatabase(tmp_path / "fresh.db") as fresh:
        await import_file(fresh, old, source_timezone=UTC)
        imported_logs = await rows(fresh, LOG_FIELDS, "message_logs", "kook_message_id")
        imported_accounts = await rows(fresh, ACCOUNT_FIELDS, "accounts", "email")
    assert imported_logs == in_place_logs
    assert len(imported_logs) == 30
    assert imported_accounts == in_place_accounts
