"""`python run.py backup PATH`: a consistent, verified copy while writes go on."""

from __future__ import annotations

import asyncio
import os
import pty
import sqlite3
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from loadgen import Ledger, integrity, produce_until_stopped, stored_rows
from serverproc import REPO, ServerProcess, clean_env, run_cli

from storage import AsyncDatabase, message_logs
from storage.sqlite.backup import BackupError, backup


def make_database(path: Path, rows: int) -> None:
    """A database of our schema with `rows` logs of some size (many pages to copy)."""
    assert run_cli(["migrate"], path).returncode == 0
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO message_logs (kook_message_id, kook_channel_id, content, status) "
            "VALUES (?, 'chan', ?, 'success')",
            ((f"seed-{n}", f"seed message {n} " + "x" * 300) for n in range(rows)),
        )
    conn.close()


def copy_ids(path: Path) -> set[str]:
    return set(stored_rows(path))


async def test_backup_is_the_snapshot_of_its_start_while_commits_land_between_steps(
    tmp_path: Path,
) -> None:
    source, target = tmp_path / "live.db", tmp_path / "copy.db"
    make_database(source, 2000)
    # The progress callback runs on the backup's own thread.
    other = sqlite3.connect(source, isolation_level=None, check_same_thread=False)
    steps: list[tuple[int, int]] = []

    def commit_between_steps(done: int, total: int) -> None:
        steps.append((done, total))
        # A backup that restarts on every foreign commit would never end: fail instead.
        assert len(steps) < 10 * total, "the copy keeps restarting"
        other.execute(
            "INSERT INTO message_logs (kook_message_id, kook_channel_id, status) "
            "VALUES (?, 'chan', 'success')",
            (f"during-{len(steps)}",),
        )

    try:
        report = await backup(source, target, pages_per_step=8, progress=commit_between_steps)
    finally:
        other.close()

    assert len(steps) > 10
    done = [d for d, _ in steps]
    assert done == sorted(done), "the copy restarted"
    assert steps[-1][0] == steps[-1][1] == report.pages
    assert integrity(target) == "ok"
    assert copy_ids(target) == {f"seed-{n}" for n in range(2000)}
    assert report.message_logs == 2000
    assert len(copy_ids(source)) == 2000 + len(steps)


async def test_backup_refuses_to_replace_an_existing_file_unless_forced(tmp_path: Path) -> None:
    source, target = tmp_path / "live.db", tmp_path / "copy.db"
    make_database(source, 10)
    target.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="exists"):
        await backup(source, target)
    assert target.read_bytes() == b"keep me"
    await backup(source, target, overwrite=True)
    assert integrity(target) == "ok"


def test_backup_of_a_missing_database_fails_and_creates_nothing(tmp_path: Path) -> None:
    result = run_cli(["backup", str(tmp_path / "copy.db")], tmp_path / "absent.db")
    assert result.returncode == 1
    assert "no database at" in result.stderr
    assert list(tmp_path.iterdir()) == []



def test_backup_into_a_missing_folder_creates_it(tmp_path: Path) -> None:
    source, target = tmp_path / "live.db", tmp_path / "new" / "nested" / "copy.db"
    make_database(source, 10)
    result = run_cli(["backup", str(target)], source)
    assert result.returncode == 0, result.stderr
    assert integrity(target) == "ok"
    assert copy_ids(target) == {f"seed-{n}" for n in range(10)}


def test_backup_failure_names_the_path_it_could_not_write(tmp_path: Path) -> None:
    source, blocker = tmp_path / "live.db", tmp_path / "a-file"
    make_database(source, 10)
    blocker.write_text("not a folder")
    result = run_cli(["backup", str(blocker / "copy.db")], source)
    assert result.returncode == 1
    assert str(blocker) in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1

async def test_restored_backup_opens_as_a_database(tmp_path: Path) -> None:
    source, target = tmp_path / "live.db", tmp_path / "copy.db"
    make_database(source, 10)
    await backup(source, target)
    async with AsyncDatabase(target) as db:
        rows, _ = await message_logs.page(db, message_logs.LogFilter(), limit=50)
    assert {r["kook_message_id"] for r in rows} == {f"seed-{n}" for n in range(10)}


@pytest.mark.slow
async def test_backup_command_copies_a_serving_database_under_load(tmp_path: Path) -> None:
    db_path, target = tmp_path / "live.db", tmp_path / "backup.db"
    ledger = Ledger()
    with ServerProcess(db_path) as server:
        stop = asyncio.Event()
        async with aiohttp.ClientSession() as session:
            workers = [
                asyncio.create_task(produce_until_stopped(session, server.url, ledger, w, stop))
                for w in range(8)
            ]
            async with asyncio.timeout(60):  # fails instead of hanging
                while len(ledger.acked) < 200:
                    await asyncio.sleep(0.01)
            committed_before = dict(ledger.acked)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "run.py", "backup", str(target), "--pages-per-step", "4",
                cwd=REPO, env=clean_env(MSGLOG_DB_PATH=str(db_path)),
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            )
            out, err = await proc.communicate()
            acked_during = len(ledger.acked) - len(committed_before)
            stop.set()
            await asyncio.gather(*workers)

    assert proc.returncode == 0, err.decode()
    assert acked_during > 0, "writes must go on while the backup runs"
    assert "integrity ok" in out.decode()
    assert err.decode() == ""  # no progress bar when stderr is not a terminal
    assert integrity(target) == "ok"
    copied = stored_rows(target)
    assert {k: copied.get(k) for k in committed_before} == committed_before


def test_backup_command_draws_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    source, target = tmp_path / "live.db", tmp_path / "copy.db"
    make_database(source, 200)
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "run.py", "backup", str(target)],
            cwd=REPO,
            env=clean_env(MSGLOG_DB_PATH=str(source), TERM="xterm", COLUMNS="100"),
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=60,
        )
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(leader)
    assert result.returncode == 0
    pages = integrity_pages(target)
    text = drawn.decode("utf-8", "replace")
    assert "backup" in text
    assert f"{pages}/{pages}" in text


def integrity_pages(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return int(conn.execute("PRAGMA page_count").fetchone()[0])
    finally:
        conn.close()
