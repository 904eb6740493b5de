"""Account queries: the bot accounts admins manage; secrets are sealed with a SecretBox."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar

from .errors import IntegrityViolation, StorageError
from .interfaces import Store
from .secretbox import SecretBox, from_rest, to_rest
from .timeutil import ms_to_iso, now_ms

T = TypeVar("T")
COLUMNS = "id, email, password_encrypted, cookie, status, last_active, created_at"
# What admins see: whether a secret is set, never the value or its ciphertext.
SUMMARY = (
    "id, email, status, last_active, created_at, "
    "coalesce(password_encrypted, '') != '' AS has_password, "
    "coalesce(cookie, '') != '' AS has_cookie"
)
STATUSES = ("offline", "online", "error", "disabled")
# The message SQLite gives when the (case-insensitive) unique email index refuses a row.
EMAIL_TAKEN = "UNIQUE constraint failed: accounts.email"
INSERT = (
    "INSERT INTO accounts (email, password_encrypted, cookie, status, created_at) "
    "VALUES (?, ?, ?, ?, ?)"
)
# Secret fields and the columns that hold them (fixed names: never user input).
SECRET_COLUMNS = {"password": "password_encrypted", "cookie": "cookie"}


class DuplicateEmail(IntegrityViolation):
    """Another account already has this email (compared case-insensitively)."""


class AccountNotFound(StorageError):
    """No account has this id."""


class AccountChanges(TypedDict, total=False):
    """Fields to change; a secret set to None is cleared."""

    status: str
    password: str | None
    cookie: str | None


@dataclass(frozen=True, slots=True)
class EncryptReport:
    """What `encrypt_all` did to the stored secrets."""

    sealed: int
    rotated: int
    unchanged: int
    wal_truncated: bool
    # Pages freed before (e.g. by older writes) are not zeroed: they may hold old plaintext.
    free_pages: int


def present(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["last_active"] = ms_to_iso(row.get("last_active"))
    out["created_at"] = ms_to_iso(row.get("created_at"))
    for flag in ("has_password", "has_cookie"):
        if flag in out:
            out[flag] = bool(out[flag])
    return out


async def _insert(db: Store, email: str, values: tuple[Any, ...]) -> int:
    """Insert (email, *values); DuplicateEmail when the email is taken in any case."""
    try:
        result = await db.execute_write(INSERT, (email, *values))
    except IntegrityViolation as exc:
        if EMAIL_TAKEN not in str(exc):
            raise
        raise DuplicateEmail(
            f"an account with email {email!r} exists (emails compare case-insensitively)"
        ) from None
    assert result.lastrowid is not None
    return result.lastrowid


# -- the older runtime's calls: its secrets go in sealed and come back as it gave them --

def _given_back(db: Store, row: dict[str, Any]) -> dict[str, Any]:
    out = present(row)
    for column in SECRET_COLUMNS.values():
        out[column] = from_rest(db.secret_box, row[column])
    return out


async def add(
    db: Store, email: str, password_encrypted: str | None, cookie: str | None
) -> int:
    """A new account; the secrets are opaque to us (the runtime encrypted them itself)."""
    box = db.secret_box
    return await _insert(
        db, email, (to_rest(box, password_encrypted), to_rest(box, cookie), "offline", now_ms())
    )


async def list_all(db: Store) -> list[dict[str, Any]]:
    rows = await db.execute_read(f"SELECT {COLUMNS} FROM accounts ORDER BY id")
    return [_given_back(db, r) for r in rows]


async def get(db: Store, account_id: int) -> dict[str, Any] | None:
    row = await db.execute_one(f"SELECT {COLUMNS} FROM accounts WHERE id = ?", (account_id,))
    return _given_back(db, row) if row else None


async def set_status(db: Store, account_id: int, status: str) -> bool:
    result = await db.execute_write(
        "UPDATE accounts SET status = ?, last_active = ? WHERE id = ?",
        (status, now_ms(), account_id),
    )
    return result.rowcount > 0


# -- admin views: no secret ever leaves the database through these ----------------

def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def page(
    db: Store,
    *,
    status: str | None = None,
    email_contains: str | None = None,
    after_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Account summaries in id order, keyset-paginated by `after_id`."""
    where: list[str] = []
    params: list[Any] = []
    if status is not None:
        where.append("status = ?")
        params.append(status)
    if email_contains:
        where.append("email LIKE ? ESCAPE '\\'")
        params.append(_like_pattern(email_contains))
    if after_id is not None:
        where.append("id > ?")
        params.append(after_id)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = await db.execute_read(
        f"SELECT {SUMMARY} FROM accounts {clause}ORDER BY id LIMIT ?", (*params, limit)
    )
    return [present(r) for r in rows]


async def summary(db: Store, account_id: int) -> dict[str, Any] | None:
    row = await db.execute_one(f"SELECT {SUMMARY} FROM accounts WHERE id = ?", (account_id,))
    return present(row) if row else None


async def create(
    db: Store,
    box: SecretBox,
    email: str,
    *,
    password: str | None = None,
    cookie: str | None = None,
    status: str = "offline",
) -> int:
    """Insert an account with its secrets sealed; DuplicateEmail if the email is taken."""
    return await _insert(
        db, email, (to_rest(box, password or None), to_rest(box, cookie or None), status, now_ms())
    )


# -- secrets for the in-process runtime ---------------------------------------------

async def _secret(db: Store, account_id: int, column: str, box: SecretBox) -> str | None:
    row = await db.execute_one(
        f"SELECT {column} AS value FROM accounts WHERE id = ?", (account_id,)
    )
    if row is None:
        raise AccountNotFound(f"no account with id {account_id}")
    return box.open(row["value"]) or None


async def get_cookie(db: Store, account_id: int, box: SecretBox) -> str | None:
    """The session cookie as it was stored (a legacy value as-is); None when unset."""
    return await _secret(db, account_id, "cookie", box)


async def get_password(db: Store, account_id: int, box: SecretBox) -> str | None:
    """The password as it was stored (a legacy value as-is, opaque); None when unset."""
    return await _secret(db, account_id, "password_encrypted", box)


# -- writes that replace or drop secrets: old bytes are zeroed, not left in free space ----

async def _scrubbed(db: Store, fn: Callable[[sqlite3.Connection], T]) -> T:
    """Run `fn` in one transaction on the writer thread with secure_delete on.

    secure_delete makes SQLite overwrite freed cells and pages with zeros, so a replaced
    secret (or a legacy unsealed one) does not linger in the file's free space.
    """

    def run(conn: sqlite3.Connection) -> T:
        previous = int(conn.execute("PRAGMA secure_delete").fetchone()[0])
        conn.execute("PRAGMA secure_delete = 1")
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result
        finally:
            conn.execute(f"PRAGMA secure_delete = {previous}")

    return await _on_writer(db, run)


async def _on_writer(db: Store, fn: Callable[[sqlite3.Connection], T]) -> T:
    # The engine turns its own errors into typed storage errors.
    return await db.run_on_writer(fn)


async def update(
    db: Store, box: SecretBox, account_id: int, changes: AccountChanges
) -> bool:
    """Apply `changes`; legacy unsealed secrets of the row are sealed on the way. False: no row."""

    def apply(conn: sqlite3.Connection) -> bool:
        row = conn.execute(
            "SELECT password_encrypted, cookie FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        if row is None:
            return False
        given = {"password": changes.get("password"), "cookie": changes.get("cookie")}
        values: dict[str, str | None] = {}
        if "status" in changes:
            values["status"] = changes["status"]
        for (field, column), current in zip(SECRET_COLUMNS.items(), row, strict=True):
            if field in changes:
                new = given[field]
                values[column] = box.seal(new) if new else None
            elif box.is_legacy(current):
                values[column] = box.seal(current)
        if values:
            assignments = ", ".join(f"{column} = ?" for column in values)
            conn.execute(
                f"UPDATE accounts SET {assignments} WHERE id = ?", (*values.values(), account_id)
            )
        return True

    return await _scrubbed(db, apply)


async def delete(db: Store, account_id: int) -> bool:
    def drop(conn: sqlite3.Connection) -> bool:
        return conn.execute("DELETE FROM accounts WHERE id = ?", (account_id,)).rowcount > 0

    return await _scrubbed(db, drop)


async def encrypt_all(db: Store, box: SecretBox) -> EncryptReport:
    """Seal every legacy unsealed secret, re-seal old keys' ones, then truncate the WAL."""
    counts = {"sealed": 0, "rotated": 0, "unchanged": 0}

    def seal_all(conn: sqlite3.Connection) -> None:
        rows = conn.execute("SELECT id, password_encrypted, cookie FROM accounts").fetchall()
        for account_id, *secrets in rows:
            new: list[str | None] = []
            for old in secrets:
                kind = "unchanged" if box.is_current(old) else (
                    "rotated" if box.is_sealed(old) else "sealed"
                )
                counts[kind] += bool(old)
                new.append(old if kind == "unchanged" else box.reseal(old))
            if new != secrets:
                conn.execute(
                    "UPDATE accounts SET password_encrypted = ?, cookie = ? WHERE id = ?",
                    (*new, account_id),
                )

    await _scrubbed(db, seal_all)

    def truncate_wal(conn: sqlite3.Connection) -> tuple[bool, int]:
        # Old WAL frames may still hold the unsealed pages: copy back and cut the file.
        busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        return not busy, int(conn.execute("PRAGMA freelist_count").fetchone()[0])

    truncated, free = await _on_writer(db, truncate_wal)
    return EncryptReport(
        counts["sealed"], counts["rotated"], counts["unchanged"], truncated, free
    )
