"""Settings: environment (MSGLOG_*) and .env, read once at start and passed down."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MSGLOG_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    db_path: Path = Path("data/messages.db")
    # postgresql://user:pass@host:5432/db: PostgreSQL instead of the SQLite file above.
    database_url: SecretStr | None = None
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    write_batch_size: int = Field(10, ge=1)
    write_flush_interval_ms: int = Field(100, ge=0)
    write_queue_max: int = Field(10000, ge=1)
    write_enqueue_timeout_s: float = Field(2.0, gt=0)
    read_pool_min: int = Field(2, ge=1)
    read_pool_max: int = Field(20, ge=1)
    query_timeout_s: float = Field(5.0, gt=0)
    synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # "external": a replicator such as Litestream runs every checkpoint, msglog none.
    checkpoints: Literal["auto", "external"] = "auto"
    admin_token: SecretStr | None = None
    api_token: SecretStr | None = None
    secret_key: SecretStr | None = None
    kook_verify_token: SecretStr | None = None
    kook_encrypt_key: SecretStr | None = None
    telegram_secret_token: SecretStr | None = None
    retention_days: int = Field(0, ge=0)
    log_format: Literal["console", "json"] = "console"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    # A platform's retry of the same event and message within this many minutes is a
    # duplicate; later, the message's own key still keeps it from being stored twice.
    webhook_dedupe_window_minutes: int = Field(10, ge=1)
    # A request slower than this is logged at WARNING whatever its status.
    slow_request_s: float = Field(1.0, gt=0)
    # Forwarding: where msglog's bots send, as whom, and how hard it retries.
    telegram_api_base: str = "https://api.telegram.org"
    kook_api_base: str = "https://www.kookapp.cn"
    telegram_bot_token: SecretStr | None = None
    kook_bot_token: SecretStr | None = None
    delivery_max_attempts: int = Field(8, ge=1)
    delivery_backoff_base_ms: int = Field(1000, ge=1)
    delivery_backoff_max_s: float = Field(300.0, gt=0)
    delivery_timeout_s: float = Field(10.0, gt=0)
    delivery_concurrency: int = Field(32, ge=1)

    @field_validator(
        "admin_token",
        "api_token",
        "database_url",
        "secret_key",
        "kook_verify_token",
        "kook_encrypt_key",
        "telegram_secret_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # MSGLOG_API_TOKEN= (empty) must mean "no token", never "the empty token".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _postgres_only(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(POSTGRES_SCHEMES):
            raise ValueError("must be a postgresql:// URL")
        return value

    def database_target(self) -> str | Path:
        """What AsyncDatabase opens: the PostgreSQL URL when set, else the SQLite file."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return Path(self.db_path)

    def database_label(self) -> str:
        """The database for logs and messages: never with its password."""
        if self.database_url is None:
            return str(self.db_path)
        parts = urlsplit(self.database_url.get_secret_value())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{port}{parts.path}"

    def host_is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def describe_errors(exc: ValidationError, options: Mapping[str, str] | None = None) -> str:
    """One line per bad setting, named as the operator set it (MSGLOG_... or `options`)."""
    lines = []
    for error in exc.errors(include_url=False):
        field = "_".join(str(part) for part in error["loc"])
        if options and field in options:
            name = options[field]
        else:
            name = "MSGLOG_" + field.upper() if field else "settings"
        message = error["msg"]
        lines.append(f"{name}: {message[:1].lower()}{message[1:]}")
    return "; ".join(lines)
