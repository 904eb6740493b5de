"""`python run.py import SOURCE.db` into either engine: ids kept, taken ones renumbered."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from legacy import make_legacy_db
from serverproc import run_cli

from storage import AsyncDatabase

pytestmark = pytest.mark.engines("sqlite", "postgres")

LOGS = 30


def import_into(target: str | Path, source: Path, tmp_path: Path) -> str:
    """Run the import command against `target`; its summary."""
    env = {"MSGLOG_DATABASE_URL": target} if isinstance(target, str) else {}
    db_path = tmp_path / "unused.db" if isinstance(target, str) else target
    done = run_cli(["import", str(source)], db_path, **env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def source_rows(source: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(source) as conn:
        return {key: (rid, created) for rid, key, created in conn.execute(
            "SELECT id, kook_message_id, created_at FROM message_logs")}


async def stored(target: str | Path) -> dict[str, tuple[int, str]]:
    async with AsyncDatabase(target) as db:
        rows = await db.read_shown(
            "SELECT id, kook_message_id, created_at FROM message_logs", [],
            ("id", "kook_message_id", "created_at"), {"created_at"})
    return {r["kook_message_id"]: (r["id"], r["created_at"]) for r in rows}


async def test_into_an_empty_database_ids_and_times_are_kept(
    db_target: str | Path, tmp_path: Path
) -> None:
    source = tmp_path / "old.db"
    make_legacy_db(source, logs=LOGS)
    summary = import_into(db_target, source, tmp_path)
    assert f"message logs: {LOGS} imported (0 under a new id" in summary
    got = await stored(db_target)
    for key, (rid, created) in source_rows(source).items():
        assert got[key][0] == rid
        # The older runtime's '2025-11-02 12:00:00' (UTC) as msglog shows times.
        assert got[key][1] == created.replace(" ", "T") + ".000Z"
    async with AsyncDatabase(db_target) as db:
        accounts = {a["email"]: a["id"] for a in await db.get_accounts_async()}
        assert accounts == {"bot@kook.io": 3, "second@kook.io": 7}
        new_id = await db.add_message_log_async("after", "c", "x", "1", "s", "", "", "received")
        assert new_id > max(rid for rid, _ in source_rows(source).values())


async def test_running_the_import_twice_imports_nothing_twice(
    db_target: str | Path, tmp_path: Path
) -> None:
    source = tmp_path / "old.db"
    make_legacy_db(source, logs=LOGS)
    import_into(db_target, source, tmp_path)
    again = import_into(db_target, source, tmp_path)
    assert f"message logs: 0 imported (0 under a new id: theirs was taken), {LOGS} skipped" \
        in again
    assert len(await stored(db_target)) == LOGS


async def test_a_row_whose_id_is_taken_gets_a_new_one_and_the_summary_says_so(
    db_target: str | Path, tmp_path: Path
) -> None:
    async with AsyncDatabase(db_target) as db:
        # Ids 1..25 are taken here, so the source's 10 and 20 must move.
        for n in range(25):
            await db.add_message_log_async(f"here-{n}", "c", "x", "1", "s", "", "", "success")
    source = tmp_path / "old.db"
    make_legacy_db(source, logs=LOGS)
    summary = import_into(db_target, source, tmp_path)
    assert f"message logs: {LOGS} imported (2 under a new id" in summary
    got = await stored(db_target)
    assert len(got) == LOGS + 25
    source_ids = {key: rid for key, (rid, _) in source_rows(source).items()}
    moved = {key for key, rid in source_ids.items() if got[key][0] != rid}
    assert moved == {"old-1", "old-2"}
    assert len({rid for rid, _ in got.values()}) == len(got)  # no id used twice
