"""Schema creation and in-place migration of the older runtime's database."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from legacy import make_legacy_db
from serverproc import run_cli

from storage import AsyncDatabase, DatabaseCorrupt, IntegrityViolation, MigrationError


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_new_database_gets_schema_version_and_wal(db_path: Path) -> None:
    async with AsyncDatabase(db_path) as db:
        version = await db.execute_one("PRAGMA user_version")
        mode = await db.execute_one("PRAGMA journal_mode")
        vacuum = await db.execute_one("PRAGMA auto_vacuum")
    assert version is not None and version["user_version"] >= 1
    assert mode == {"journal_mode": "wal"}
    assert vacuum == {"auto_vacuum": 2}  # incremental: retention can give space back


async def test_legacy_database_opens_with_every_row_kept(db_path: Path) -> None:
    make_legacy_db(db_path, logs=50)
    async with AsyncDatabase(db_path, legacy_timezone=UTC) as db:
        logs = await db.execute_read("SELECT * FROM message_logs ORDER BY id")
        assert [r["id"] for r in logs] == [n * 10 for n in range(1, 51)]
        first = logs[0]
        assert first["kook_message_id"] == "old-1"
        assert first["target_platform"] == "telegram"
        assert first["attempts"] == 1
        # '2025-11-02 12:00:00' UTC as epoch milliseconds: comparable in SQL.
        assert first["created_at"] == 1762084800000
        untargeted = logs[1]
        assert (untargeted["target_platform"], untargeted["target_channel"]) == ("", "")
        accounts = await db.get_accounts_async()
        assert [a["email"] for a in accounts] == ["bot@kook.io", "second@kook.io"]
        assert accounts[0]["id"] == 3 and accounts[0]["cookie"] == "sid=plain-cookie"
        assert accounts[0]["last_active"] == "2025-11-11T10:00:00.123Z"
        for table, expected in [
            ("failed_messages", 1),
            ("bot_configs", 1),
            ("channel_mappings", 1),
            ("filter_rules", 1),
            ("system_config", 1),
        ]:
            row = await db.execute_one(f"SELECT count(*) AS n FROM {table}")
            assert row == {"n": expected}, table
        assert await db.execute_read("PRAGMA foreign_key_check") == []
        found = await db.execute_read(
            "SELECT rowid FROM message_fts WHERE message_fts MATCH '\"legacy message 7\"'"
        )
        assert [r["rowid"] for r in found] == [70]


async def test_legacy_database_takes_new_writes(db_path: Path) -> None:
    make_legacy_db(db_path, logs=5)
    async with AsyncDatabase(db_path) as db:
        new_id = await db.add_message_log_async(
            "new-1", "chan", "hello", "1", "bob", "discord", "d-1", "success"
        )
        assert new_id > 50
        again = await db.add_message_log_async(
            "old-1", "chan-1", None, "1", None, "telegram", "tg-1", "failed", "retry"
        )
        assert again == 10
        account = await db.add_account_async("third@kook.io")
        assert account > 7
        with pytest.raises(IntegrityViolation, match="exists"):
            await db.add_account_async("bot@kook.io")


async def test_migration_never_hands_out_the_ids_of_deleted_top_logs(db_path: Path) -> None:
    # sqlite_sequence says 500; 490 and 500 went to the archive, failed_messages names 500.
    make_legacy_db(db_path, logs=50, archived_top=2)
    async with AsyncDatabase(db_path) as db:
        new_id = await db.add_message_log_async(
            "new-1", "chan", "hello", "1", "bob", "discord", "d-1", "success"
        )
        archived = await db.execute_read("SELECT id FROM message_logs_archive")
        failed = await db.execute_read("SELECT message_log_id FROM failed_messages")
    assert new_id == 501
    assert new_id not in {r["id"] for r in archived} | {r["message_log_id"] for r in failed}


async def test_migration_never_hands_out_the_id_of_a_deleted_account(db_path: Path) -> None:
    make_legacy_db(db_path, logs=5)
    with sqlite3.connect(db_path) as conn:
        conn.execute("DELETE FROM accounts WHERE id = 7")
    async with AsyncDatabase(db_path) as db:
        new_id = await db.add_account_async("third@kook.io")
    assert new_id == 8


async def test_migration_reads_last_active_in_the_zone_it_was_written_in(db_path: Path) -> None:
    make_legacy_db(db_path, logs=5)
    async with AsyncDatabase(db_path, legacy_timezone=ZoneInfo("Asia/Shanghai")) as db:
        account = (await db.get_accounts_async())[0]
    # '2025-11-11 10:00:00.123456' on a machine in Beijing; created_at was UTC already.
    assert account["last_active"] == "2025-11-11T02:00:00.123Z"
    assert account["created_at"] == "2025-11-01T08:00:00.000Z"


async def test_migrate_command_reads_last_active_in_this_machines_zone(db_path: Path) -> None:
    make_legacy_db(db_path, logs=5)
    result = run_cli(["migrate"], db_path, TZ="Asia/Shanghai")
    assert result.returncode == 0, result.stderr
    async with AsyncDatabase(db_path) as db:
        account = (await db.get_accounts_async())[0]
    assert account["last_active"] == "2025-11-11T02:00:00.123Z"


async def test_migration_is_applied_once(db_path: Path) -> None:
    make_legacy_db(db_path, logs=5)
    async with AsyncDatabase(db_path) as db:
        await db.add_message_log_async("n", "c", "x", "1", "s", "tg", "t", "success")
    async with AsyncDatabase(db_path) as db:
        row = await db.execute_one("SELECT count(*) AS n FROM message_logs")
        assert row == {"n": 6}


async def test_unmigratable_legacy_data_fails_clearly_and_leaves_the_file(
    db_path: Path,
) -> None:
    make_legacy_db(db_path, logs=5, duplicate_email=True)
    before = digest(db_path)
    db = AsyncDatabase(db_path)
    with pytest.raises(MigrationError, match="duplicate emails"):
        await db.init()
    assert digest(db_path) == before
    assert not Path(f"{db_path}-wal").exists()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


async def test_corrupt_file_fails_clearly_and_is_left_untouched(db_path: Path) -> None:
    db_path.write_bytes(b"this is not a database, just some text " * 200)
    before = digest(db_path)
    with pytest.raises(DatabaseCorrupt):
        await AsyncDatabase(db_path).init()
    assert digest(db_path) == before
