"""An id is never reused, not even after an older backup is restored in place."""

from __future__ import annotations

import shutil
from pathlib import Path

from storage import AsyncDatabase
from tests.storehelp import log


def restore(backup: Path, db_path: Path) -> None:
    """The README's restore: the current file and its -wal/-shm aside, the copy in place."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(backup, db_path)


async def test_restored_older_backup_does_not_hand_out_ids_given_after_it(
    db_path: Path, tmp_path: Path
) -> None:
    async with AsyncDatabase(db_path) as db:
        for i in range(5):
            await log(db, f"before-{i}")
    backup = tmp_path / "backup.db"
    shutil.copyfile(db_path, backup)
    async with AsyncDatabase(db_path) as db:
        given_after_backup = [await log(db, f"after-{i}") for i in range(5)]
    restore(backup, db_path)
    async with AsyncDatabase(db_path) as db:
        new_id = await log(db, "after-restore")
    assert new_id > max(given_after_backup)


async def test_restored_backup_keeps_account_ids_unreused(db_path: Path, tmp_path: Path) -> None:
    async with AsyncDatabase(db_path) as db:
        await db.add_account_async("one@example.com")
    backup = tmp_path / "backup.db"
    shutil.copyfile(db_path, backup)
    async with AsyncDatabase(db_path) as db:
        later = await db.add_account_async("two@example.com")
    restore(backup, db_path)
    async with AsyncDatabase(db_path) as db:
        again = await db.add_account_async("three@example.com")
    assert again > later
