"""Account secrets: encrypted at rest, absent from answers and logs, legacy values upgraded."""

from __future__ import annotations

import io
import json
import stat
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from adminhelp import AUTH, COOKIE, PASSWORD, TOKEN, box_of, create, db_of, raw_row, start
from cryptography.fernet import Fernet
from legacy import runtime_open, runtime_seal

from bot import keys, logs
from bot.secrets import SECRETS
from bot.settings import Settings
from storage import accounts
from storage.secretbox import PREFIX, SecretBox, SecretUnreadable

pytestmark = pytest.mark.engines("sqlite", "postgres")

URL = "/api/admin/accounts"
LEGACY_COOKIE = "sid=legacy-PLAINTEXT-cookie-41"
SECRETS_TEXT = [PASSWORD, COOKIE, "cookie-PLAINTEXT", "pw-PLAINTEXT", TOKEN]


@pytest.fixture
async def admin(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Any:
    return await start(aiohttp_client, make_settings)


@pytest.fixture
def json_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], str]]:
    """The app's logging as configured in production (JSON lines), captured."""
    saved = structlog.get_config()
    out = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", out)  # configure() binds the stream it finds here
        logs.configure("json", "DEBUG")
    yield out.getvalue
    structlog.configure(**saved)


def file_bytes(db_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in (db_path, Path(f"{db_path}-wal")) if p.exists())


async def legacy_account(client: Any, cookie: str | None = LEGACY_COOKIE) -> int:
    """A row as the older runtime wrote it: secrets in the clear."""
    result = await db_of(client).execute_write(
        "INSERT INTO accounts (email, password_encrypted, cookie) VALUES (?, ?, ?) RETURNING id",
        ("legacy@example.com", "gAAAAB-old-runtime-value", cookie),
    )
    assert result.lastrowid is not None
    return result.lastrowid


# -- at rest ---------------------------------------------------------------------------

# Reads the SQLite file and its WAL byte by byte.
@pytest.mark.engines("sqlite")
async def test_database_and_wal_hold_no_plaintext_secret(admin: Any, db_path: Path) -> None:
    created = await create(admin, email="at-rest@example.com", password=PASSWORD, cookie=COOKIE)
    await admin.patch(f"{URL}/{created['id']}", json={"cookie": COOKIE + "2"}, headers=AUTH)
    data = file_bytes(db_path)
    assert b"at-rest@example.com" in data  # the read really sees the committed rows
    for text in (PASSWORD, "cookie-PLAINTEXT", "pw-PLAINTEXT"):
        assert text.encode() not in data


async def test_stored_values_are_marked_fernet_tokens(admin: Any) -> None:
    created = await create(admin, password=PASSWORD, cookie=COOKIE)
    row = await raw_row(admin, created["id"])
    box = box_of(admin)
    assert row["password_encrypted"].startswith(PREFIX) and row["cookie"].startswith(PREFIX)
    assert (box.open(row["password_encrypted"]), box.open(row["cookie"])) == (PASSWORD, COOKIE)


async def test_same_secret_encrypts_differently_each_time(admin: Any) -> None:
    a = await create(admin, email="a@example.com", cookie=COOKIE)
    b = await create(admin, email="b@example.com", cookie=COOKIE)
    assert (await raw_row(admin, a["id"]))["cookie"] != (await raw_row(admin, b["id"]))["cookie"]


# -- never out ----------------------------------------------------------------------

async def test_no_answer_carries_a_secret_or_its_ciphertext(admin: Any) -> None:
    bodies: list[str] = []

    async def keep(resp: Any) -> None:
        bodies.append(await resp.text())

    resp = await admin.post(
        URL, json={"email": "x@example.com", "password": PASSWORD, "cookie": COOKIE}, headers=AUTH
    )
    await keep(resp)
    account_id = (json.loads(bodies[0]))["id"]
    await keep(await admin.get(URL, headers=AUTH))
    await keep(await admin.get(f"{URL}/{account_id}", headers=AUTH))
    await keep(await admin.patch(f"{URL}/{account_id}", json={"password": PASSWORD + "!"},
                                 headers=AUTH))
    # Rejected bodies must not echo what was sent either.
    await keep(await admin.post(URL, json={"email": "bad", "password": PASSWORD}, headers=AUTH))
    await keep(await admin.patch(f"{URL}/{account_id}", json={"cookie": COOKIE * 1000},
                                 headers=AUTH))
    await keep(await admin.post(URL, json={"email": "x@example.com", "cookie": COOKIE},
                                headers=AUTH))
    row = await raw_row(admin, account_id)
    for body in bodies:
        for text in (*SECRETS_TEXT, PREFIX, row["cookie"][len(PREFIX):][:20]):
            assert text not in body


async def test_logs_carry_no_secret(admin: Any, json_logs: Callable[[], str]) -> None:
    created = await create(admin, password=PASSWORD, cookie=COOKIE)
    url = f"{URL}/{created['id']}"
    await admin.patch(url, json={"cookie": COOKIE + "x"}, headers=AUTH)
    await admin.post(URL, json={"email": "nope", "password": PASSWORD}, headers=AUTH)
    await admin.get(URL, headers={"Authorization": f"Bearer {PASSWORD}"})
    await admin.get(url, headers=AUTH)
    out = json_logs()
    events = [json.loads(line)["event"] for line in out.splitlines()]
    assert {"account_created", "account_updated", "admin_auth_failed", "request"} <= set(events)
    for text in SECRETS_TEXT:
        assert text not in out


async def test_update_log_names_fields_not_values(admin: Any, json_logs: Callable[[], str]) -> None:
    created = await create(admin)
    await admin.patch(f"{URL}/{created['id']}", json={"cookie": COOKIE}, headers=AUTH)
    lines = [json.loads(line) for line in json_logs().splitlines()]
    update = next(line for line in lines if line["event"] == "account_updated")
    assert update["fields"] == ["cookie"] and update["account_id"] == created["id"]


# -- the runtime's accessor ----------------------------------------------------------

async def test_accessor_returns_the_decrypted_cookie(admin: Any) -> None:
    created = await create(admin, cookie=COOKIE)
    assert await accounts.get_cookie(db_of(admin), created["id"], box_of(admin)) == COOKIE


async def test_accessor_returns_none_without_a_cookie(admin: Any) -> None:
    created = await create(admin)
    assert await accounts.get_cookie(db_of(admin), created["id"], box_of(admin)) is None


async def test_accessor_raises_for_an_unknown_account(admin: Any) -> None:
    with pytest.raises(accounts.AccountNotFound):
        await accounts.get_cookie(db_of(admin), 404, box_of(admin))


async def test_accessor_refuses_a_cookie_sealed_under_another_key(admin: Any) -> None:
    created = await create(admin, cookie=COOKIE)
    stranger = SecretBox([Fernet.generate_key()])
    with pytest.raises(SecretUnreadable):
        await accounts.get_cookie(db_of(admin), created["id"], stranger)


async def test_legacy_plain_cookie_is_returned_as_is(admin: Any) -> None:
    account_id = await legacy_account(admin)
    assert await accounts.get_cookie(db_of(admin), account_id, box_of(admin)) == LEGACY_COOKIE


async def test_legacy_row_reports_its_secrets(admin: Any) -> None:
    account_id = await legacy_account(admin)
    body = await (await admin.get(f"{URL}/{account_id}", headers=AUTH)).json()
    assert (body["has_password"], body["has_cookie"]) == (True, True)
    assert LEGACY_COOKIE not in json.dumps(body)


async def test_next_patch_encrypts_legacy_secrets(admin: Any) -> None:
    account_id = await legacy_account(admin)
    resp = await admin.patch(f"{URL}/{account_id}", json={"status": "online"}, headers=AUTH)
    assert resp.status == 200
    row = await raw_row(admin, account_id)
    assert row["cookie"].startswith(PREFIX) and row["password_encrypted"].startswith(PREFIX)
    box = box_of(admin)
    assert await accounts.get_cookie(db_of(admin), account_id, box) == LEGACY_COOKIE
    assert await accounts.get_password(db_of(admin), account_id, box) == (
        "gAAAAB-old-runtime-value"
    )


async def test_encrypt_all_seals_legacy_and_rotates_old_keys(admin: Any) -> None:
    old_box = box_of(admin)
    legacy_id = await legacy_account(admin)
    sealed_id = (await create(admin, email="new@example.com", cookie=COOKIE))["id"]
    new_box = SecretBox([Fernet.generate_key(), *old_box_keys(admin)])
    report = await accounts.encrypt_all(db_of(admin), new_box)
    assert (report.sealed, report.rotated, report.unchanged) == (2, 1, 0)
    db = db_of(admin)
    assert await accounts.get_cookie(db, legacy_id, new_box) == LEGACY_COOKIE
    assert await accounts.get_cookie(db, sealed_id, new_box) == COOKIE
    with pytest.raises(SecretUnreadable):
        await accounts.get_cookie(db, sealed_id, old_box)


def old_box_keys(client: Any) -> list[str]:
    """The app's key: MSGLOG_SECRET_KEY (always so on PostgreSQL), or its key file."""
    secret_key = client.app[keys.SETTINGS].secret_key
    if client.app[SECRETS].source == "MSGLOG_SECRET_KEY" and secret_key is not None:
        return [secret_key.get_secret_value()]
    path = Path(client.app[SECRETS].source)
    return [path.read_text().strip()]


# -- the runtime in the same process: its secrets back as it gave them ---------------

RUNTIME_KEY = Fernet.generate_key()  # the older runtime's own key, unknown to msglog


async def runtime_account(client: Any) -> int:
    """An account added by the runtime's own call, with secrets it encrypted itself."""
    return await db_of(client).add_account_async(
        "runtime@example.com",
        runtime_seal(RUNTIME_KEY, "runtime-pw-PLAINTEXT"),
        runtime_seal(RUNTIME_KEY, "runtime-cookie-PLAINTEXT"),
    )


async def runtime_view(client: Any, account_id: int) -> dict[str, Any]:
    found = [a for a in await db_of(client).get_accounts_async() if a["id"] == account_id]
    assert len(found) == 1
    return found[0]


async def test_runtime_secrets_are_sealed_at_rest_in_the_service(admin: Any) -> None:
    account_id = await runtime_account(admin)
    row = await raw_row(admin, account_id)
    assert row["password_encrypted"].startswith(PREFIX) and row["cookie"].startswith(PREFIX)
    opened = box_of(admin).open(row["password_encrypted"])
    assert opened is not None and runtime_open(RUNTIME_KEY, opened) == "runtime-pw-PLAINTEXT"


async def test_status_patch_gives_the_runtime_its_secrets_back_unchanged(admin: Any) -> None:
    account_id = await runtime_account(admin)
    given = await runtime_view(admin, account_id)
    resp = await admin.patch(f"{URL}/{account_id}", json={"status": "disabled"}, headers=AUTH)
    assert resp.status == 200
    after = await runtime_view(admin, account_id)
    assert (after["password_encrypted"], after["cookie"]) == (
        given["password_encrypted"], given["cookie"]
    )
    assert runtime_open(RUNTIME_KEY, after["cookie"]) == "runtime-cookie-PLAINTEXT"


async def test_admin_created_account_gives_the_runtime_the_secret_as_entered(
    admin: Any,
) -> None:
    created = await create(admin, password=PASSWORD, cookie=COOKIE)
    account = await runtime_view(admin, created["id"])
    assert (account["password_encrypted"], account["cookie"]) == (PASSWORD, COOKIE)


# -- the key -----------------------------------------------------------------------------

# The generated key file serves an SQLite database (PostgreSQL needs MSGLOG_SECRET_KEY).
@pytest.mark.engines("sqlite")
async def test_first_start_generates_a_private_key_file(admin: Any, db_path: Path) -> None:
    path = db_path.parent / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    Fernet(path.read_text().strip())  # a valid key


async def test_restart_reuses_the_generated_key(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    first = await start(aiohttp_client, make_settings)
    created = await create(first, cookie=COOKIE)
    await first.close()
    second = await start(aiohttp_client, make_settings)
    assert await accounts.get_cookie(db_of(second), created["id"], box_of(second)) == COOKIE


async def test_configured_key_is_used_and_no_file_written(
    aiohttp_client: Any, make_settings: Callable[..., Settings], db_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    client = await start(aiohttp_client, make_settings, secret_key=key)
    created = await create(client, cookie=COOKIE)
    assert not (db_path.parent / "secret.key").exists()
    assert SecretBox([key]).open((await raw_row(client, created["id"]))["cookie"]) == COOKIE


async def test_invalid_configured_key_disables_secret_writes_only(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await start(aiohttp_client, make_settings, secret_key="not-a-fernet-key")
    resp = await client.post(URL, json={"email": "a@example.com", "cookie": COOKIE}, headers=AUTH)
    assert resp.status == 503
    err = (await resp.json())["error"]
    assert err["code"] == "secret_key_unavailable" and "not-a-fernet-key" not in err["message"]
    assert (await client.get(URL, headers=AUTH)).status == 200


async def test_wrong_key_for_stored_secrets_is_refused(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    first = await start(aiohttp_client, make_settings)
    created = await create(first, cookie=COOKIE)
    await first.close()
    client = await start(aiohttp_client, make_settings, secret_key=Fernet.generate_key().decode())
    assert client.app[SECRETS].box is None
    resp = await client.patch(f"{URL}/{created['id']}", json={"cookie": "x"}, headers=AUTH)
    assert (await resp.json())["error"]["code"] == "secret_key_unavailable"


# The generated key file serves an SQLite database (PostgreSQL needs MSGLOG_SECRET_KEY).
@pytest.mark.engines("sqlite")
async def test_lost_key_file_is_not_silently_replaced(
    aiohttp_client: Any, make_settings: Callable[..., Settings], db_path: Path
) -> None:
    first = await start(aiohttp_client, make_settings)
    await create(first, cookie=COOKIE)
    await first.close()
    (db_path.parent / "secret.key").unlink()
    client = await start(aiohttp_client, make_settings)
    assert not (db_path.parent / "secret.key").exists()
    assert "restore" in (client.app[SECRETS].problem or "")


# Reads the SQLite file byte by byte after its WAL checkpoint.
@pytest.mark.engines("sqlite")
async def test_deleted_account_leaves_no_bytes_once_checkpointed(
    aiohttp_client: Any, make_settings: Callable[..., Settings], db_path: Path
) -> None:
    client = await start(aiohttp_client, make_settings)
    await create(client, email="keep@example.com")
    gone = await create(client, email="gone-account@example.com", cookie=COOKIE)
    row = await raw_row(client, gone["id"])
    assert (await client.delete(f"{URL}/{gone['id']}", headers=AUTH)).status == 204
    await client.close()  # closing checkpoints the WAL back into the file
    data = file_bytes(db_path)
    assert b"keep@example.com" in data
    assert b"gone-account@example.com" not in data
    assert row["cookie"][len(PREFIX):].encode() not in data
