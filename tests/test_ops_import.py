"""`python run.py import OLD.db`: the older runtime's logs and accounts, copied once."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from legacy import make_legacy_db
from serverproc import REPO, ServerProcess, clean_env, run_cli

from storage import AsyncDatabase, LogFilter, message_logs
from storage.legacy_import import ImportSourceError, import_file

LOGS = 120


@pytest.fixture
def old_db(tmp_path: Path) -> Path:
    path = tmp_path / "old.db"
    make_legacy_db(path, logs=LOGS)
    return path


async def log_by_key(db: AsyncDatabase, kmid: str) -> dict[str, object]:
    row = await db.execute_one("SELECT id FROM message_logs WHERE kook_message_id = ?", (kmid,))
    assert row is not None
    found = await message_logs.get(db, row["id"])
    assert found is not None
    return found


async def test_import_copies_every_log_and_account(db: AsyncDatabase, old_db: Path) -> None:
    report = await import_file(db, old_db)
    assert (report.logs_imported, report.logs_skipped) == (LOGS, 0)
    assert (report.accounts_imported, report.accounts_skipped) == (2, 0)
    assert len(await db.execute_read("SELECT id FROM message_logs")) == LOGS
    emails = {a["email"] for a in await db.get_accounts_async()}
    assert emails == {"bot@kook.io", "second@kook.io"}


async def test_import_turns_text_timestamps_into_utc_instants(
    db: AsyncDatabase, old_db: Path
) -> None:
    await import_file(db, old_db)
    row = await db.execute_one(
        "SELECT created_at FROM message_logs WHERE kook_message_id = 'old-1'"
    )
    assert row is not None
    # The older runtime wrote '2025-11-02 12:00:00' (UTC) for this row.
    assert row["created_at"] == int(datetime(2025, 11, 2, 12, tzinfo=UTC).timestamp() * 1000)
    assert (await log_by_key(db, "old-1"))["created_at"] == "2025-11-02T12:00:00.000Z"
    account = next(a for a in await db.get_accounts_async() if a["email"] == "bot@kook.io")
    assert account["last_active"] == "2025-11-11T10:00:00.123Z"


async def test_import_stores_missing_targets_as_empty(db: AsyncDatabase, old_db: Path) -> None:
    await import_file(db, old_db)
    log = await log_by_key(db, "old-2")  # the older runtime left its targets NULL
    assert (log["target_platform"], log["target_channel"]) == ("", "")
    log = await log_by_key(db, "old-1")
    assert (log["target_platform"], log["target_channel"]) == ("telegram", "tg-1")


async def test_importing_twice_adds_nothing(db: AsyncDatabase, old_db: Path) -> None:
    await import_file(db, old_db)
    again = await import_file(db, old_db)
    assert (again.logs_imported, again.logs_skipped) == (0, LOGS)
    assert (again.accounts_imported, again.accounts_skipped) == (0, 2)
    assert len(await db.execute_read("SELECT id FROM message_logs")) == LOGS
    assert len(await db.get_accounts_async()) == 2


async def test_import_skips_rows_already_logged_here(db: AsyncDatabase, old_db: Path) -> None:
    ours = await db.add_message_log_async(
        "old-1", "chan-1", "logged by the runtime", "1", "s", "telegram", "tg-1", "success"
    )
    await db.add_account_async("BOT@KOOK.IO")
    report = await import_file(db, old_db)
    assert (report.logs_imported, report.logs_skipped) == (LOGS - 1, 1)
    assert (report.accounts_imported, report.accounts_skipped) == (1, 1)
    kept = await message_logs.get(db, ours)
    assert kept is not None and kept["content"] == "logged by the runtime"


async def test_imported_logs_are_found_by_search(db: AsyncDatabase, old_db: Path) -> None:
    await import_file(db, old_db)
    rows, _ = await message_logs.page(db, LogFilter(q="消息转发"), limit=500)
    assert len(rows) == LOGS


async def test_import_reports_progress_up_to_the_total(db: AsyncDatabase, old_db: Path) -> None:
    seen: list[tuple[int, int]] = []
    await import_file(db, old_db, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (0, LOGS + 2)
    assert seen[-1] == (LOGS + 2, LOGS + 2)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


async def test_import_counts_accounts_whose_secrets_need_sealing(
    db: AsyncDatabase, old_db: Path
) -> None:
    report = await import_file(db, old_db)
    assert report.accounts_with_legacy_secrets == 1


async def test_import_leaves_the_old_file_unchanged(db: AsyncDatabase, old_db: Path) -> None:
    before = old_db.read_bytes()
    await import_file(db, old_db)
    assert old_db.read_bytes() == before


@pytest.mark.parametrize("content", [None, b"this is not a database" * 100])
async def test_import_from_a_missing_or_foreign_file_fails_clearly(
    db: AsyncDatabase, tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "nope.db"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportSourceError):
        await import_file(db, path)


def test_import_command_prints_a_summary_and_is_idempotent(
    tmp_path: Path, old_db: Path
) -> None:
    target = tmp_path / "new.db"
    first = run_cli(["import", str(old_db)], target)
    assert first.returncode == 0, first.stderr
    assert f"message logs: {LOGS} imported, 0 skipped" in first.stdout
    assert "accounts:     2 imported, 0 skipped" in first.stdout
    assert "accounts encrypt" in first.stdout
    second = run_cli(["import", str(old_db)], target)
    assert second.returncode == 0, second.stderr
    assert f"message logs: 0 imported, {LOGS} skipped" in second.stdout


def test_import_command_of_a_missing_file_fails_with_exit_1(tmp_path: Path) -> None:
    result = run_cli(["import", str(tmp_path / "absent.db")], tmp_path / "new.db")
    assert result.returncode == 1
    assert "no database at" in result.stderr


@pytest.mark.slow
async def test_import_into_a_running_service_is_served_at_once(
    tmp_path: Path, old_db: Path
) -> None:
    db_path = tmp_path / "live.db"
    with ServerProcess(db_path) as server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "run.py", "import", str(old_db),
            cwd=REPO, env=clean_env(MSGLOG_DB_PATH=str(db_path)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        _out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        async with aiohttp.ClientSession() as session, session.get(
            server.url + "/api/messages", params={"q": "legacy message", "limit": 500}
        ) as resp:
            assert resp.status == 200
            assert len((await resp.json())["items"]) == LOGS
