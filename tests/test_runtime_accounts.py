"""The older runtime's account calls through AsyncDatabase: emails and opaque secrets."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from legacy import make_legacy_db, runtime_open, runtime_seal

from storage import AsyncDatabase, IntegrityViolation, MigrationError
from storage.secretbox import PREFIX, SecretBox, SecretKeyMissing

pytestmark = pytest.mark.engines("sqlite", "postgres")

RUNTIME_KEY = Fernet.generate_key()  # the older runtime's own key, unknown to msglog
PASSWORD = "runtime-PLAINTEXT-pw-58"
COOKIE = "sid=runtime-PLAINTEXT-cookie-12"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def box() -> SecretBox:
    return SecretBox([Fernet.generate_key()])


async def test_email_differing_only_in_case_is_refused(db: AsyncDatabase) -> None:
    await db.add_account_async("Bot@Example.com")
    with pytest.raises(IntegrityViolation, match=r"'bot@example\.com' exists.*case"):
        await db.add_account_async("bot@example.com")
    assert [a["email"] for a in await db.get_accounts_async()] == ["Bot@Example.com"]


async def test_runtime_secrets_come_back_unchanged_and_decryptable(
    db_target: str | Path, box: SecretBox
) -> None:
    password, cookie = runtime_seal(RUNTIME_KEY, PASSWORD), runtime_seal(RUNTIME_KEY, COOKIE)
    async with AsyncDatabase(db_target, secret_box=box) as db:
        await db.add_account_async("bot@example.com", password, cookie)
        [account] = await db.get_accounts_async()
    assert (account["password_encrypted"], account["cookie"]) == (password, cookie)
    assert runtime_open(RUNTIME_KEY, account["password_encrypted"]) == PASSWORD


async def test_runtime_secrets_are_sealed_at_rest(
    db_target: str | Path, box: SecretBox
) -> None:
    password = runtime_seal(RUNTIME_KEY, PASSWORD)
    async with AsyncDatabase(db_target, secret_box=box) as db:
        await db.add_account_async("bot@example.com", password, None)
        row = await db.execute_one("SELECT password_encrypted, cookie FROM accounts")
    assert row is not None and row["cookie"] is None
    assert row["password_encrypted"].startswith(PREFIX)
    assert box.open(row["password_encrypted"]) == password


# Reads the SQLite file and its WAL byte by byte.
@pytest.mark.engines("sqlite")
async def test_runtime_secrets_leave_no_plaintext_in_the_file(
    db_path: Path, box: SecretBox
) -> None:
    password = runtime_seal(RUNTIME_KEY, PASSWORD)
    async with AsyncDatabase(db_path, secret_box=box) as db:
        await db.add_account_async("bot@example.com", password, None)
    data = b"".join(p.read_bytes() for p in db_path.parent.glob(f"{db_path.name}*"))
    assert password.encode() not in data


async def test_sealed_secret_is_not_handed_out_without_the_key(
    db_target: str | Path, box: SecretBox
) -> None:
    async with AsyncDatabase(db_target, secret_box=box) as db:
        await db.add_account_async("bot@example.com", runtime_seal(RUNTIME_KEY, PASSWORD))
    async with AsyncDatabase(db_target) as db:
        with pytest.raises(SecretKeyMissing):
            await db.get_accounts_async()


def case_duplicates_before_v5(db_path: Path) -> None:
    """A msglog file of schema 4, where the runtime's calls added a case variant."""
    with sqlite3.connect(db_path) as conn:
        conn.execute("DROP INDEX IF EXISTS ux_accounts_email_nocase")
        conn.execute("INSERT INTO accounts (email, created_at) VALUES ('BOT@kook.io', 0)")
        conn.execute("PRAGMA user_version = 4")
    conn.close()


# SQLite's schema versions and its file's bytes.
@pytest.mark.engines("sqlite")
async def test_case_duplicates_in_a_schema_4_file_stop_the_migration(db_path: Path) -> None:
    async with AsyncDatabase(db_path) as db:
        await db.add_account_async("bot@kook.io")
    case_duplicates_before_v5(db_path)
    before = digest(db_path)
    with pytest.raises(MigrationError, match=r"duplicate emails.*BOT@kook\.io"):
        await AsyncDatabase(db_path).init()
    assert digest(db_path) == before


# An older runtime's SQLite file, opened in place.
@pytest.mark.engines("sqlite")
async def test_case_duplicates_in_the_older_runtimes_file_stop_the_migration(
    db_path: Path,
) -> None:
    make_legacy_db(db_path, logs=3)
    with sqlite3.connect(db_path) as conn:
        conn.execute("INSERT INTO accounts (email) VALUES ('Bot@Kook.io')")
    conn.close()
    before = digest(db_path)
    with pytest.raises(MigrationError, match=r"case-insensitively.*Bot@Kook\.io"):
        await AsyncDatabase(db_path).init()
    assert digest(db_path) == before
