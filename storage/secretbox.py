"""Fernet encryption of account secrets; the key is always handed in, never looked up.

A secret is an opaque string: what a caller stores is sealed as it is and opened back
byte for byte. The older runtime's values (its own base64-wrapped Fernet tokens, or text
it stored in the clear) are such strings too: never decoded, never taken for passwords.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .errors import StorageError

# Marks our ciphertext unambiguously: a value the older runtime wrote never starts like this.
PREFIX = "fernet:"


class SecretUnreadable(StorageError):
    """A stored secret is marked encrypted but none of the keys decrypts it."""


class SecretKeyMissing(StorageError):
    """No key, yet a secret needs one: a sealed one to open, or a marked one to store."""


class SecretBox:
    """Seals and opens secrets; the first key encrypts, every key decrypts (rotation)."""

    def __init__(self, keys: Sequence[str | bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        # Fernet raises ValueError for a key that is not 32 url-safe base64 bytes.
        self._fernets = [Fernet(k) for k in keys]
        self._primary = self._fernets[0]
        self._all = MultiFernet(self._fernets)

    @staticmethod
    def is_sealed(stored: str | None) -> bool:
        return stored is not None and stored.startswith(PREFIX)

    @staticmethod
    def is_legacy(stored: str | None) -> bool:
        """A non-empty value stored without our key (the older runtime's, kept opaque)."""
        return bool(stored) and not SecretBox.is_sealed(stored)

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._primary.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, stored: str | None) -> str | None:
        """What was sealed, byte for byte; legacy (unmarked) values are returned as-is."""
        if stored is None or not self.is_sealed(stored):
            return stored
        try:
            return self._all.decrypt(stored[len(PREFIX):].encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured key(s)"
            ) from None

    def is_current(self, stored: str | None) -> bool:
        """True when nothing needs rewriting: empty, or sealed under the primary key."""
        if not stored:
            return True
        if not self.is_sealed(stored):
            return False
        try:
            self._primary.decrypt(stored[len(PREFIX):].encode("ascii"))
        except (InvalidToken, UnicodeError):
            return False
        return True

    def reseal(self, stored: str | None) -> str | None:
        """A legacy value or an old key's ciphertext, sealed again under the primary key."""
        if not stored or self.is_current(stored):
            return stored
        plaintext = self.open(stored)
        return None if plaintext is None else self.seal(plaintext)


def to_rest(box: SecretBox | None, value: str | None) -> str | None:
    """What a column holds for a caller's secret: sealed whenever there is a key."""
    if not value:
        return value
    if box is not None:
        return box.seal(value)
    if SecretBox.is_sealed(value):
        # Stored unsealed it would later be taken for our ciphertext.
        raise SecretKeyMissing(f"a secret starting with {PREFIX!r} can only be stored sealed")
    return value


def from_rest(box: SecretBox | None, stored: str | None) -> str | None:
    """The caller's secret back from its column, exactly as it was stored."""
    if not SecretBox.is_sealed(stored):
        return stored
    if box is None:
        raise SecretKeyMissing("an account secret is sealed and no secret key was given")
    return box.open(stored)
