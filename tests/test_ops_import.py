"""`python run.py import OLD.db`: the older runtime's logs and accounts, copied once."""

from __future__ import annotations

import asyncio
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from legacy import make_crashed_wal_db, make_legacy_db
from readonly import read_only, snapshot
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
    await import_file(db, old_db, source_timezone=UTC)
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
    assert (f"message logs: {LOGS} imported (0 under a new id: theirs was taken), "
            "0 skipped") in first.stdout
    assert "accounts:     2 imported (0 under a new id), 0 skipped" in first.stdout
    assert "accounts encrypt" in first.stdout
    second = run_cli(["import", str(old_db)], target)
    assert second.returncode == 0, second.stderr
    assert (f"message logs: 0 imported (0 under a new id: theirs was taken), "
            f"{LOGS} skipped") in second.stdout


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


# The older runtime wrote last_active '2025-11-11 10:00:00.123456' on a machine in Beijing.
SHANGHAI_LAST_ACTIVE = "2025-11-11T02:00:00.123Z"


async def last_active_of(db_path: Path, email: str) -> object:
    async with AsyncDatabase(db_path) as db:
        account = next(a for a in await db.get_accounts_async() if a["email"] == email)
        return account["last_active"]


async def test_import_reads_last_active_in_the_source_timezone(
    db: AsyncDatabase, old_db: Path
) -> None:
    await import_file(db, old_db, source_timezone=ZoneInfo("Asia/Shanghai"))
    account = next(a for a in await db.get_accounts_async() if a["email"] == "bot@kook.io")
    assert account["last_active"] == SHANGHAI_LAST_ACTIVE
    assert account["created_at"] == "2025-11-01T08:00:00.000Z"  # CURRENT_TIMESTAMP: UTC


async def test_import_command_reads_last_active_in_this_machines_zone_and_says_so(
    tmp_path: Path, old_db: Path
) -> None:
    target = tmp_path / "new.db"
    result = run_cli(["import", str(old_db)], target, TZ="Asia/Shanghai")
    assert result.returncode == 0, result.stderr
    assert "last_active read as wall-clock time in this machine's zone" in result.stdout
    assert "(UTC+08:00 now)" in result.stdout
    assert await last_active_of(target, "bot@kook.io") == SHANGHAI_LAST_ACTIVE


async def test_import_command_reads_last_active_in_the_zone_given(
    tmp_path: Path, old_db: Path
) -> None:
    target = tmp_path / "new.db"
    result = run_cli(
        ["import", "--source-timezone", "Asia/Shanghai", str(old_db)], target, TZ="UTC"
    )
    assert result.returncode == 0, result.stderr
    assert "wall-clock time in Asia/Shanghai (UTC+08:00" in result.stdout
    assert await last_active_of(target, "bot@kook.io") == SHANGHAI_LAST_ACTIVE


def test_import_command_refuses_an_unknown_timezone(tmp_path: Path, old_db: Path) -> None:
    args = ["import", "--source-timezone", "Mars/Olympus", str(old_db)]
    result = run_cli(args, tmp_path / "new.db")
    assert result.returncode == 2
    assert "unknown time zone 'Mars/Olympus'" in result.stderr


# -- sources that must not be written next to ---------------------------------------------


def run_import(
    source: Path,
    target: Path,
    prefix: Sequence[str] = (),
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python run.py import SOURCE` into `target`, behind `prefix` (see readonly)."""
    return subprocess.run(
        [*prefix, sys.executable, "run.py", "import", str(source)],
        cwd=REPO,
        env=clean_env(MSGLOG_DB_PATH=str(target)),
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=preexec_fn,
    )


def kook_ids(db_path: Path) -> set[str]:
    with sqlite3.connect(db_path) as conn:
        return {r[0] for r in conn.execute("SELECT kook_message_id FROM message_logs")}


@pytest.fixture
def source_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    folder.mkdir()
    return folder


def test_import_reads_a_wal_source_on_read_only_storage(
    tmp_path: Path, source_dir: Path
) -> None:
    source = source_dir / "old.db"
    make_legacy_db(source, logs=LOGS, wal=True)
    before = snapshot(source_dir)
    with read_only(source_dir) as prefix:
        result = run_import(source, tmp_path / "new.db", prefix)
    assert result.returncode == 0, result.stderr
    assert f"message logs: {LOGS} imported" in result.stdout
    assert snapshot(source_dir) == before


def test_import_leaves_the_folder_of_a_wal_source_byte_for_byte_unchanged(
    tmp_path: Path, source_dir: Path
) -> None:
    source = source_dir / "old.db"
    make_legacy_db(source, logs=LOGS, wal=True)
    before = snapshot(source_dir)
    result = run_import(source, tmp_path / "new.db")
    assert result.returncode == 0, result.stderr
    assert snapshot(source_dir) == before


def test_import_of_a_crashed_wal_source_leaves_its_folder_byte_for_byte_unchanged(
    tmp_path: Path, source_dir: Path
) -> None:
    source = source_dir / "old.db"
    make_crashed_wal_db(source, logs=LOGS, pending=3)
    before = snapshot(source_dir)
    target = tmp_path / "new.db"
    result = run_import(source, target)
    assert result.returncode == 0, result.stderr
    assert "pending-3" in kook_ids(target)
    assert snapshot(source_dir) == before


def _limit_file_size() -> None:
    # A file growing past 1 MB fails with EFBIG, as a full disk fails with ENOSPC.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, resource.RLIM_INFINITY))


def test_import_that_cannot_copy_a_wal_source_aside_fails_naming_the_cause(
    tmp_path: Path, source_dir: Path
) -> None:
    source = source_dir / "old.db"
    make_crashed_wal_db(source, logs=5, pending=40, content_bytes=50_000)
    before = snapshot(source_dir)
    result = run_import(source, tmp_path / "new.db", preexec_fn=_limit_file_size)
    assert result.returncode == 1
    assert "its -wal holds changes not yet in the file" in result.stderr
    assert "File too large" in result.stderr
    assert snapshot(source_dir) == before
