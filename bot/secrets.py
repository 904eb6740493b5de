"""The key that seals account secrets: MSGLOG_SECRET_KEY, or a generated secret.key file."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from cryptography.fernet import Fernet

from storage import AsyncDatabase
from storage.secretbox import PREFIX, SecretBox, SecretUnreadable

from .settings import Settings

KEY_FILE_NAME = "secret.key"
_SEPARATORS = re.compile(r"[\s,]+")
_SEALED_SAMPLE = (
    "SELECT coalesce(CASE WHEN cookie LIKE ? THEN cookie END, password_encrypted) AS value "
    "FROM accounts WHERE cookie LIKE ? OR password_encrypted LIKE ? LIMIT 1"
)


class SecretKeyError(Exception):
    """No usable key: secrets can be neither sealed nor opened."""


@dataclass(frozen=True, slots=True)
class Secrets:
    """The box that seals secrets, or why there is none; warnings for the operator."""

    box: SecretBox | None
    problem: str | None = None
    source: str = ""
    warnings: list[str] = field(default_factory=list)

    def require(self) -> SecretBox:
        if self.box is None:
            raise SecretKeyError(self.problem or "no secret key")
        return self.box


SECRETS = web.AppKey("secrets", Secrets)


def key_path(settings: Settings) -> Path:
    """The generated key lives next to the database (so backups must take both)."""
    # Path() again: cli.py's --db goes through model_copy, which does not validate.
    return Path(settings.db_path).parent / KEY_FILE_NAME


def parse_keys(text: str) -> list[str]:
    """One or more Fernet keys, comma or whitespace separated; the first one encrypts."""
    return [k for k in _SEPARATORS.split(text.strip()) if k]


def _read_key_file(path: Path, warnings: list[str]) -> list[str]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        warnings.append(f"{path} is readable by other users (mode {mode:o}); chmod 600 it")
    return parse_keys(path.read_text(encoding="ascii"))


def _create_key_file(path: Path) -> None:
    """Write a fresh key with mode 0600; a concurrent creator's key wins, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(Fernet.generate_key().decode("ascii") + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            # link() never replaces an existing file: the first process to start wins.
            os.link(tmp, path)
        except FileExistsError:
            return
    finally:
        os.unlink(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _resolve(settings: Settings, may_generate: bool) -> Secrets:
    warnings: list[str] = []
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        source = "MSGLOG_SECRET_KEY"
        keys = parse_keys(settings.secret_key.get_secret_value())
    elif settings.database_url is not None:
        # A key file is one machine's: instances elsewhere would seal with other keys.
        return Secrets(None, (
            "MSGLOG_SECRET_KEY is not set: with MSGLOG_DATABASE_URL every instance must seal "
            "secrets with the same key (make one with `python -c \"from cryptography.fernet "
            "import Fernet; print(Fernet.generate_key().decode())\"`)"
        ), "MSGLOG_SECRET_KEY")
    else:
        path = key_path(settings)
        source = str(path)
        try:
            if not path.exists():
                if not may_generate:
                    return Secrets(None, (
                        "the database holds encrypted secrets but there is no key: set "
                        f"MSGLOG_SECRET_KEY or restore {path} from your backup"
                    ), source)
                _create_key_file(path)
                warnings.append(f"generated a new secret key in {path}: back it up")
            keys = _read_key_file(path, warnings)
        except (OSError, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not ASCII"
            return Secrets(None, f"cannot read or create {path}: {reason}", source)
    try:
        box = SecretBox(keys)
    except ValueError:
        return Secrets(None, (
            f"{source} does not hold a valid Fernet key (32 url-safe base64-encoded bytes, "
            "e.g. from cryptography.fernet.Fernet.generate_key())"
        ), source)
    return Secrets(box, None, source, warnings)


async def load(settings: Settings, db: AsyncDatabase) -> Secrets:
    """Find (or on first start create) the key and check it opens what is stored."""
    pattern = PREFIX + "%"
    sample = await db.execute_one(_SEALED_SAMPLE, (pattern, pattern, pattern))
    secrets = await asyncio.to_thread(_resolve, settings, sample is None)
    if secrets.box is not None and sample is not None:
        try:
            secrets.box.open(sample["value"])
        except SecretUnreadable:
            return Secrets(None, (
                f"the key from {secrets.source} does not decrypt the stored secrets "
                "(wrong or replaced key?)"
            ), secrets.source, secrets.warnings)
    return secrets
