"""`python run.py accounts ...` against a real database file, as a separate process."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from legacy import make_legacy_db, runtime_open, set_runtime_secrets

from bot import keys
from bot.app import create_app
from bot.settings import Settings
from storage.secretbox import PREFIX, SecretBox

RUN_PY = Path(__file__).resolve().parent.parent / "run.py"
PASSWORD = "cli-PLAINTEXT-pw-93"
COOKIE = "SID=cli-PLAINTEXT-cookie-17"


@pytest.fixture
def dbfile(tmp_path: Path) -> Path:
    return tmp_path / "data" / "messages.db"


def accounts(dbfile: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGLOG_")}
    return subprocess.run(
        [sys.executable, str(RUN_PY), "--db", str(dbfile), "accounts", *args],
        input=stdin, capture_output=True, text=True, env=env, cwd=dbfile.parent.parent,
        timeout=60, check=False,
    )


def rows(dbfile: Path) -> list[tuple[int, str, str | None, str | None, str]]:
    with sqlite3.connect(dbfile) as conn:
        return conn.execute(
            "SELECT id, email, password_encrypted, cookie, status FROM accounts ORDER BY id"
        ).fetchall()


def key_box(dbfile: Path) -> SecretBox:
    return SecretBox([(dbfile.parent / "secret.key").read_text().strip()])


def add_bot(dbfile: Path, tmp_path: Path) -> None:
    cookie_file = tmp_path / "cookie.txt"
    cookie_file.write_text(COOKIE + "\n")
    done = accounts(dbfile, "add", "bot@example.com", "--password-stdin",
                    "--cookie-file", str(cookie_file), stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr


def test_add_stores_encrypted_secrets_and_a_private_key(dbfile: Path, tmp_path: Path) -> None:
    add_bot(dbfile, tmp_path)
    [(_, email, password, cookie, status)] = rows(dbfile)
    box = key_box(dbfile)
    assert (email, status) == ("bot@example.com", "offline")
    assert password is not None and cookie is not None
    assert password.startswith(PREFIX) and cookie.startswith(PREFIX)
    assert (box.open(password), box.open(cookie)) == (PASSWORD, COOKIE)
    assert stat.S_IMODE((dbfile.parent / "secret.key").stat().st_mode) == 0o600
    data = b"".join(p.read_bytes() for p in dbfile.parent.glob("messages.db*"))
    assert PASSWORD.encode() not in data and COOKIE.encode() not in data


def legacy_file(dbfile: Path) -> None:
    """The older runtime's file: account 3 with secrets in clear, account 7 without."""
    dbfile.parent.mkdir()
    make_legacy_db(dbfile, logs=5)


def test_list_shows_a_table_without_secrets(dbfile: Path) -> None:
    legacy_file(dbfile)
    done = accounts(dbfile, "list")
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert lines[0] == ["ID", "EMAIL", "STATUS", "LAST", "ACTIVE", "PASSWORD", "COOKIE"]
    assert lines[1] == ["3", "bot@kook.io", "online", "2025-11-11T10:00:00.123Z", "yes", "yes"]
    assert lines[2] == ["7", "second@kook.io", "offline", "-", "no", "no"]
    for text in ("sid=plain-cookie", "gAAAA-old"):
        assert text not in done.stdout + done.stderr


def test_add_duplicate_email_fails_with_1(dbfile: Path) -> None:
    legacy_file(dbfile)
    done = accounts(dbfile, "add", "BOT@kook.io")
    assert done.returncode == 1
    assert "already exists" in done.stderr and "Traceback" not in done.stderr
    assert len(rows(dbfile)) == 2


@pytest.mark.parametrize(
    "args",
    [["add", "not-an-email"], ["add", "a@example.com", "--status", "banned"],
     ["add", "a@example.com", "--password-stdin", "--cookie-stdin"], ["set-status", "1", "banned"],
     ["set-status", "one", "online"], ["frobnicate"], []],
    ids=["bad-email", "bad-status", "two-stdin", "set-bad-status", "bad-id", "unknown", "none"],
)
def test_usage_errors_exit_2_and_touch_nothing(dbfile: Path, args: list[str]) -> None:
    done = accounts(dbfile, *args)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip()
    assert not dbfile.parent.exists()


def test_empty_password_on_stdin_is_refused(dbfile: Path) -> None:
    done = accounts(dbfile, "add", "a@example.com", "--password-stdin", stdin="")
    assert done.returncode == 2 and "empty" in done.stderr


def test_set_status_changes_it_and_seals_legacy_secrets(dbfile: Path) -> None:
    legacy_file(dbfile)
    done = accounts(dbfile, "set-status", "3", "disabled")
    assert done.returncode == 0, done.stderr
    [(_, _, password, cookie, status), _] = rows(dbfile)
    assert status == "disabled"
    assert cookie is not None and key_box(dbfile).open(cookie) == "sid=plain-cookie"
    assert password is not None and password.startswith(PREFIX)


def test_remove_deletes_the_account(dbfile: Path) -> None:
    legacy_file(dbfile)
    assert accounts(dbfile, "remove", "3").returncode == 0
    assert [r[0] for r in rows(dbfile)] == [7]


@pytest.mark.parametrize("args", [["set-status", "5", "online"], ["remove", "5"]])
def test_unknown_id_fails_with_1(dbfile: Path, args: list[str]) -> None:
    legacy_file(dbfile)
    done = accounts(dbfile, *args)
    assert done.returncode == 1
    assert "no account with id 5" in done.stderr
    assert len(rows(dbfile)) == 2


def test_missing_database_fails_with_1_and_is_not_created(dbfile: Path) -> None:
    dbfile.parent.mkdir()
    done = accounts(dbfile, "list")
    assert done.returncode == 1 and "no database" in done.stderr
    assert not dbfile.exists()


def test_encrypt_seals_legacy_secrets_and_scrubs_the_file(dbfile: Path) -> None:
    legacy_file(dbfile)
    assert b"sid=plain-cookie" in dbfile.read_bytes()
    done = accounts(dbfile, "encrypt")
    assert done.returncode == 0, done.stderr
    assert "encrypted 2 secret(s) stored without our key" in done.stdout
    box = key_box(dbfile)
    legacy = {r[0]: r for r in rows(dbfile)}[3]
    assert legacy[2] is not None and legacy[3] is not None
    assert (box.open(legacy[2]), box.open(legacy[3])) == ("gAAAA-old", "sid=plain-cookie")
    data = b"".join(p.read_bytes() for p in dbfile.parent.glob("messages.db*"))
    assert b"sid=plain-cookie" not in data and b"bot@kook.io" in data


async def test_encrypt_keeps_the_older_runtimes_secrets_usable_by_it(
    dbfile: Path, aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    legacy_file(dbfile)
    runtime_key = Fernet.generate_key()  # the older runtime's own key
    set_runtime_secrets(dbfile, 3, runtime_key, "legacy-pw-93", "sid=legacy-cookie-4")
    done = accounts(dbfile, "encrypt")
    assert done.returncode == 0, done.stderr
    stored = {r[0]: r for r in rows(dbfile)}[3]
    assert stored[2] is not None and stored[2].startswith(PREFIX)
    # The runtime in the service's process reads its accounts through the storage API.
    client = await aiohttp_client(create_app(make_settings(db_path=dbfile)))
    [account] = [a for a in await client.app[keys.DB].get_accounts_async() if a["id"] == 3]
    assert runtime_open(runtime_key, account["password_encrypted"]) == "legacy-pw-93"
    assert runtime_open(runtime_key, account["cookie"]) == "sid=legacy-cookie-4"


def test_encrypt_twice_changes_nothing_more(dbfile: Path) -> None:
    legacy_file(dbfile)
    accounts(dbfile, "encrypt")
    before = rows(dbfile)
    done = accounts(dbfile, "encrypt")
    assert done.returncode == 0
    assert "encrypted 0 secret(s)" in done.stdout and "2 already encrypted" in done.stdout
    assert rows(dbfile) == before


def test_encrypt_with_a_wrong_key_fails_with_1(dbfile: Path) -> None:
    legacy_file(dbfile)
    assert accounts(dbfile, "encrypt").returncode == 0
    (dbfile.parent / "secret.key").write_text(Fernet.generate_key().decode())
    done = accounts(dbfile, "encrypt")
    assert done.returncode == 1
    assert "does not decrypt" in done.stderr and "Traceback" not in done.stderr



def test_ctrl_c_at_the_password_prompt_exits_130_without_a_traceback(dbfile: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGLOG_")}
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, str(RUN_PY), "--db", str(dbfile), "accounts", "add", "a@example.com",
         "--password-stdin"],
        stdin=follower, stdout=follower, stderr=follower, env=env, cwd=dbfile.parent.parent,
        # A shell's background job ignores SIGINT, and Python would then too.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    os.close(follower)
    output = b""
    try:
        deadline = time.monotonic() + 30
        while b"Password: " not in output:
            assert time.monotonic() < deadline, f"no prompt: {output!r}"
            if select.select([leader], [], [], 0.5)[0]:
                output += os.read(leader, 4096)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other side is closed and drained
                break
            if not chunk:
                break
            output += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(leader)
    text = output.decode("utf-8", "replace")
    assert code == 130, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text
    assert not dbfile.exists()
