"""structlog, configured once: JSON lines in production, console in development."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Field names whose values are secrets wherever they appear in an event.
SECRET_KEYS = {
    "authorization",
    "password",
    "password_encrypted",
    "cookie",
    "secret",
    "secret_key",
    "token",
    "admin_token",
    "api_token",
    "verify_token",
    "encrypt_key",
    "x-telegram-bot-api-secret-token",
}
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s,;\"']+")
REDACTED = "[redacted]"


def _redact(value: Any) -> Any:
    if isinstance(value, MutableMapping):
        return {
            k: (REDACTED if str(k).lower() in SECRET_KEYS else _redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_redact(v) for v in value)
    if isinstance(value, str) and ("earer" in value or "EARER" in value):
        return _BEARER.sub(r"\1" + REDACTED, value)
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Processor: secret fields and bearer tokens never reach a log line."""
    # Runs on every log line (one per request): plain values take the cheap path.
    for key, value in event_dict.items():
        if key.lower() in SECRET_KEYS:
            event_dict[key] = REDACTED
        elif value.__class__ is str:
            if "earer" in value or "EARER" in value:
                event_dict[key] = _BEARER.sub(r"\1" + REDACTED, value)
        elif isinstance(value, dict | list | tuple | MutableMapping):
            event_dict[key] = _redact(value)
    return event_dict


def configure(log_format: str = "console", level: str = "INFO") -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    renderer: Any
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    elif sys.stderr.isatty():
        renderer = structlog.dev.ConsoleRenderer()
    else:
        # Piped console output (a journal, a file): plain key=value lines, several times
        # cheaper than the column-aligned renderer on the per-request path.
        renderer = structlog.processors.KeyValueRenderer(
            key_order=["timestamp", "level", "event"], drop_missing=True
        )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
