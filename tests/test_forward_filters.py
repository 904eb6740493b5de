"""The older runtime's filter_rules: kept, applied where msglog reads them the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from legacy import add_filter_rules, add_forwarding_setup, make_legacy_db
from serverproc import run_cli

from bot.settings import Settings
from storage import AsyncDatabase, forward_filters, forward_routes, legacy_import
from storage.forward_routes import NewRoute
from tests.adminhelp import AUTH, start

pytestmark = pytest.mark.engines("sqlite", "postgres")

HOOK = "https://discord.example/api/webhooks/3/hook"


def old_file(path: Path) -> Path:
    make_legacy_db(path)
    add_forwarding_setup(path)
    add_filter_rules(path)
    return path


async def with_old_setup(db_target: str | Path, tmp_path: Path) -> AsyncDatabase:
    """The engine under test, holding an older runtime's routes and filter rules.

    SQLite opens the older runtime's file in place; PostgreSQL imports it.
    """
    if isinstance(db_target, Path):
        old_file(db_target)
    db = AsyncDatabase(db_target)
    await db.init()
    if isinstance(db_target, str):
        await legacy_import.import_file(db, old_file(tmp_path / "old.db"))
    return db


async def receive(db: AsyncDatabase, msg: str, text: str, sender: str, channel: str) -> None:
    await db.add_message_log_async(msg, channel, text, "text", sender, None, None, "received")


async def queued_for(db: AsyncDatabase, msg: str) -> int:
    row = await db.execute_one(
        "SELECT count(*) AS n FROM message_logs WHERE kook_message_id = ? "
        "AND route_id IS NOT NULL", (msg,),
    )
    assert row is not None
    return int(row["n"])


async def test_filter_rules_are_kept_in_place_each_with_what_msglog_makes_of_it(
    db_path: Path,
) -> None:
    old_file(db_path)
    async with AsyncDatabase(db_path) as db:
        kept = await forward_filters.list_all(db)
    assert [(r["rule_type"], r["applies"]) for r in kept] == [
        ("keyword_blacklist", True),
        ("user_whitelist", True),
        ("regex_blacklist", False),
        ("keyword_whitelist", False),
        ("mention_all_only", False),
    ]
    notes = [r["note"] for r in kept]
    assert "regular expression" in notes[2]
    assert "disabled" in notes[3]
    assert "@all" in notes[4]


async def test_blocked_keyword_queues_no_delivery_whatever_its_case(
    db_target: str | Path, tmp_path: Path
) -> None:
    async with await with_old_setup(db_target, tmp_path) as db:
        await receive(db, "m1", "买 广告 位", "alice", "chan-1")
        await receive(db, "m2", "this is SPAM", "alice", "chan-1")
        await receive(db, "m3", "hello", "alice", "chan-1")
        counts = [await queued_for(db, m) for m in ("m1", "m2", "m3")]
    assert counts == [0, 0, 2]


async def test_sender_allow_list_holds_only_in_its_channel(
    db_target: str | Path, tmp_path: Path
) -> None:
    async with await with_old_setup(db_target, tmp_path) as db:
        await forward_routes.add(db, NewRoute("kook", "chan-3", "discord", "other", HOOK))
        await receive(db, "m1", "hello", "carol", "chan-1")
        await receive(db, "m2", "hello", "carol", "chan-3")
        counts = [await queued_for(db, m) for m in ("m1", "m2")]
    assert counts == [0, 1]


async def test_import_carries_every_rule_once(db_target: str | Path, tmp_path: Path) -> None:
    source = old_file(tmp_path / "old.db")
    async with AsyncDatabase(db_target) as db:
        first = await legacy_import.import_file(db, source)
        again = await legacy_import.import_file(db, source)
        kept = await forward_filters.list_all(db)
    assert (first.filters_imported, again.filters_imported, again.filters_skipped) == (5, 0, 5)
    assert (len(first.filters_applied), len(first.filters_not_applied)) == (2, 3)
    assert {r["origin"] for r in kept} == {"import"} and len(kept) == 5


def test_import_command_names_each_rule_and_the_routes(tmp_path: Path) -> None:
    source = old_file(tmp_path / "old.db")
    result = run_cli(["import", str(source)], tmp_path / "new.db")
    assert result.returncode == 0, result.stderr
    assert "routes:       3 imported, 0 skipped" in result.stdout
    assert "filters:      5 imported, 0 skipped (already present): 2 applied, 3 not applied" \
        in result.stdout
    assert "regex_blacklist" in result.stdout and "matches plain text only" in result.stdout


async def test_admin_api_lists_the_rules(
    db_target: str | Path, tmp_path: Path, aiohttp_client: Any,
    make_settings: Callable[..., Settings],
) -> None:
    await (await with_old_setup(db_target, tmp_path)).close()
    client = await start(aiohttp_client, make_settings)
    refused = await client.get("/api/admin/filters")
    resp = await client.get("/api/admin/filters", headers=AUTH)
    assert refused.status == 401
    assert resp.status == 200
    items = (await resp.json())["items"]
    assert [i["kind"] for i in items[:2]] == ["keyword_block", "sender_allow"]
    assert items[0]["terms"] == ["广告", "spam"]
