"""Account queries: the bot accounts admins manage; secrets are sealed with a SecretBox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from .errors import IntegrityViolation, StorageError
from .interfaces import Store
from .secretbox import SecretBox, from_rest, to_rest
from .timeutil import ms_to_iso, now_ms

COLUMNS = "id, email, password_encrypted, cookie, status, last_active, created_at"
# What admins see: whether a secret is set, never the value or its ciphertext.
SUMMARY = (
    "id, email, status, last_active, created_at, "
    "coalesce(password_encrypted, '') != '' AS has_password, "
    "coalesce(cookie, '') != '' AS has_cookie"
)
STATUSES = ("offline", "online", "error", "disabled")
INSERT = (
    "INSERT INTO accounts (email, password_encrypted, cookie, status, created_at) "
    "VALUES (?, ?, ?, ?, ?) RETURNING id"
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
        # The id is generated: the one unique key a new row can collide on is the email.
        if exc.kind != "unique":
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
        # lower() on both sides: SQLite's LIKE folds ASCII case, PostgreSQL's folds none.
        where.append("lower(email) LIKE lower(?) ESCAPE '\\'")
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

# Rewrites compare the secrets they read (IS: NULL equals NULL), so a change that came in
# between is never overwritten with a value sealed from the old one: the caller reads
# again and retries.
_SAME_SECRETS = "password_encrypted IS NOT DISTINCT FROM ? AND cookie IS NOT DISTINCT FROM ?"
_RETRIES = 5


async def _secrets(db: Store, account_id: int) -> tuple[str | None, str | None] | None:
    row = await db.execute_one(
        "SELECT password_encrypted, cookie FROM accounts WHERE id = ?", (account_id,)
    )
    return None if row is None else (row["password_encrypted"], row["cookie"])


async def update(
    db: Store, box: SecretBox, account_id: int, changes: AccountChanges
) -> bool:
    """Apply `changes`; legacy unsealed secrets of the row are sealed on the way. False: no row."""
    given = {"password": changes.get("password"), "cookie": changes.get("cookie")}
    for _ in range(_RETRIES):
        current = await _secrets(db, account_id)
        if current is None:
            return False
        values: dict[str, str | None] = {}
        if "status" in changes:
            values["status"] = changes["status"]
        for (field, column), old in zip(SECRET_COLUMNS.items(), current, strict=True):
            if field in changes:
                new = given[field]
                values[column] = box.seal(new) if new else None
            elif old and box.is_legacy(old):
                values[column] = box.seal(old)
        if not values:
            return True
        assignments = ", ".join(f"{column} = ?" for column in values)
        result = await db.scrubbed_write(
            f"UPDATE accounts SET {assignments} WHERE id = ? AND {_SAME_SECRETS}",
            (*values.values(), account_id, *current),
        )
        if result.rowcount:
            return True
    raise StorageError(f"account {account_id} kept changing while it was being updated")


async def delete(db: Store, account_id: int) -> bool:
    result = await db.scrubbed_write("DELETE FROM accounts WHERE id = ?", (account_id,))
    return result.rowcount > 0


async def encrypt_all(db: Store, box: SecretBox) -> EncryptReport:
    """Seal every legacy unsealed secret, re-seal old keys' ones, then truncate the WAL."""
    counts = {"sealed": 0, "rotated": 0, "unchanged": 0}
    rows = await db.execute_read("SELECT id FROM accounts ORDER BY id")
    for row in rows:
        for _ in range(_RETRIES):
            current = await _secrets(db, row["id"])
            if current is None:
                break  # deleted meanwhile
            kinds = [
                "unchanged" if box.is_current(old) else (
                    "rotated" if box.is_sealed(old) else "sealed")
                for old in current
            ]
            new = [old if kind == "unchanged" else box.reseal(old)
                   for old, kind in zip(current, kinds, strict=True)]
            if new == list(current):
                done = True
            else:
                result = await db.scrubbed_write(
                    "UPDATE accounts SET password_encrypted = ?, cookie = ? "
                    f"WHERE id = ? AND {_SAME_SECRETS}",
                    (*new, row["id"], *current),
                )
                done = result.rowcount > 0
            if done:
                for old, kind in zip(current, kinds, strict=True):
                    counts[kind] += bool(old)
                break
        else:
            raise StorageError(f"account {row['id']} kept changing while it was being sealed")
    # Old WAL frames (old row versions) may still hold the unsealed values.
    truncated, free = await db.forget_old_versions()
    return EncryptReport(
        counts["sealed"], counts["rotated"], counts["unchanged"], truncated, free
    )
