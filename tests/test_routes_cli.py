"""`python run.py routes ...`: add, list (URL redacted), disable, enable, remove."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.serverproc import run_cli

HOOK = "https://discord.example/api/webhooks/7/cli-secret-token"


def add_discord(db_path: Path, tmp_path: Path) -> str:
    url_file = tmp_path / "hook.txt"
    url_file.write_text(HOOK + "\n")
    done = run_cli(["routes", "add", "kook", "chan-1", "discord", "general",
                    "--url-file", str(url_file)], db_path)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_added_route_is_listed_with_its_url_redacted(tmp_path: Path) -> None:
    db_path = tmp_path / "messages.db"
    assert add_discord(db_path, tmp_path).startswith("added route 1")
    listed = run_cli(["routes", "list"], db_path)
    assert listed.returncode == 0, listed.stderr
    assert "https://discord.example/***" in listed.stdout
    assert "cli-secret-token" not in listed.stdout + listed.stderr


def test_route_url_is_stored_encrypted(tmp_path: Path) -> None:
    db_path = tmp_path / "messages.db"
    add_discord(db_path, tmp_path)
    with sqlite3.connect(db_path) as conn:
        (stored,) = conn.execute("SELECT target_url FROM forward_routes").fetchone()
    assert stored.startswith("fernet:") and "cli-secret-token" not in stored


def test_disable_then_enable_a_route(tmp_path: Path) -> None:
    db_path = tmp_path / "messages.db"
    add_discord(db_path, tmp_path)
    assert run_cli(["routes", "disable", "1"], db_path).returncode == 0
    assert "no" in run_cli(["routes", "list"], db_path).stdout.splitlines()[1]
    assert run_cli(["routes", "enable", "1"], db_path).returncode == 0
    assert run_cli(["routes", "list"], db_path).stdout.splitlines()[1].endswith("yes")


def test_removing_an_unknown_route_fails(tmp_path: Path) -> None:
    db_path = tmp_path / "messages.db"
    add_discord(db_path, tmp_path)
    assert run_cli(["routes", "remove", "1"], db_path).returncode == 0
    gone = run_cli(["routes", "remove", "1"], db_path)
    assert gone.returncode == 1 and "no route 1" in gone.stderr


def test_discord_route_without_url_is_a_usage_error(tmp_path: Path) -> None:
    done = run_cli(["routes", "add", "kook", "c", "discord", "g"], tmp_path / "m.db")
    assert done.returncode == 2 and "webhook" in done.stderr
