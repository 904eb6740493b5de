"""structlog, configured once: JSON lines in production, console in development.

The standard library's loggers (aiohttp, asyncio) write through the same renderer.
"""

from __future__ import annotations

import atexit
import io
import logging
import re
import sys
import threading
import time
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from aiohttp.http_exceptions import HttpProcessingError

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
            k: (REDACTED if str(k).lower() in SECRET_KEYS else _redact(v)) for k, v in value.items()
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


FLUSH_SECONDS = 0.2


class BufferedLineLogger:
    """structlog's final logger: lines go to a buffered stream, flushed in the background.

    One write system call per request (structlog's own loggers flush every line) gave
    up the GIL on the hot path and cost a third of a POST's time. Lines still reach the
    stream within FLUSH_SECONDS, warnings and errors at once, and at exit.
    """

    def __init__(self, stream: TextIO, owned: bool = False) -> None:
        self._stream = stream
        self._owned = owned
        self._lock = threading.Lock()

    def _line(self, message: str) -> None:
        with self._lock:
            self._stream.write(message + "\n")

    def _urgent(self, message: str) -> None:
        with self._lock:
            self._stream.write(message + "\n")
            self._stream.flush()

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def retire(self) -> None:
        """Flush; a wrapper of our own lets go of stderr's buffer instead of closing it."""
        with self._lock:
            self._stream.flush()
            if self._owned and isinstance(self._stream, io.TextIOWrapper):
                self._stream.detach()

    msg = debug = info = _line
    warning = warn = error = err = critical = fatal = exception = failure = _urgent


_current: BufferedLineLogger | None = None
_access: Any = None
_access_debug = True  # structlog's own default configuration prints every level


def _flush_current() -> None:
    if _current is not None:
        _current.flush()


def _flush_forever() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        _flush_current()


def _output() -> BufferedLineLogger:
    """The logger for the stderr of this moment (tests swap sys.stderr)."""
    global _current
    stream: TextIO = sys.stderr
    buffer = getattr(stream, "buffer", None)
    owned = buffer is not None and not stream.isatty()
    if buffer is not None and owned:
        # sys.stderr is line-buffered: a wrapper of our own over the same bytes buffer
        # writes in blocks instead.
        stream = io.TextIOWrapper(buffer, encoding="utf-8", errors="replace")
    first = _current is None
    if _current is not None:
        _current.retire()
    _current = BufferedLineLogger(stream, owned)
    if first:
        atexit.register(_flush_current)
        threading.Thread(target=_flush_forever, name="log-flush", daemon=True).start()
    return _current


class StdlibHandler(logging.Handler):
    """Sends the standard library's records (aiohttp, asyncio) to the lines structlog writes."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record = _malformed_request(record) or record
            line = self.format(record)
            output = _current
            if output is None:
                return
            if record.levelno >= logging.WARNING:
                output._urgent(line)
            else:
                output._line(line)
        except Exception:
            self.handleError(record)


MALFORMED = "malformed request"


def _malformed_request(record: logging.LogRecord) -> logging.LogRecord | None:
    """aiohttp's traceback for a request it could not parse, as one warning naming the client.

    Anyone on the network can send a bad request line or header: that is the client's
    mistake, not an error of the service, and its traceback only says where aiohttp's
    parser stopped.
    """
    if not record.name.startswith("aiohttp") or record.exc_info is None:
        return None
    exc = record.exc_info[1]
    if not isinstance(exc, HttpProcessingError):
        return None
    args = record.args
    client = args[0] if isinstance(args, tuple) and len(args) == 1 else None
    # The message goes on with the offending bytes, which may be a header's secret.
    cause = (exc.message or type(exc).__name__).strip().splitlines()[0].rstrip(":")
    copy = logging.makeLogRecord(record.__dict__)
    if copy.levelno > logging.WARNING:
        copy.levelno, copy.levelname = logging.WARNING, "WARNING"
    copy.msg, copy.args, copy.exc_info, copy.exc_text = MALFORMED, (), None, None
    copy.msglog_fields = {"client": client, "error": cause, "status": exc.code}
    return copy


def _record_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Foreign-record processor: fields our own rewriting attached to the record."""
    record = event_dict.get("_record")
    fields = getattr(record, "msglog_fields", None)
    if fields:
        event_dict.update(fields)
    return event_dict


def _route_stdlib(numeric: int, renderer: Any, exceptions: list[Any]) -> None:
    """Every standard-library logger writes through the same renderer as structlog."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _record_fields,
            redact_secrets,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exceptions,
            renderer,
        ],
    )
    handler = StdlibHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, StdlibHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)


def configure(log_format: str = "console", level: str = "INFO") -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    renderer: Any
    # Tracebacks go inside the line as an `exception` field; only the terminal's
    # renderer draws them itself, across lines, for a human.
    exceptions: list[Any] = [structlog.processors.format_exc_info]
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
    elif sys.stderr.isatty():
        # Without locals: a frame's variables may hold a password or token.
        renderer = structlog.dev.ConsoleRenderer(
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False)
        )
        exceptions = []
    else:
        # Piped console output (a journal, a file): plain key=value lines, several times
        # cheaper than the column-aligned renderer on the per-request path.
        renderer = structlog.processors.KeyValueRenderer(
            key_order=["timestamp", "level", "event"], drop_missing=True
        )
    output = _output()
    wrapper = structlog.make_filtering_bound_logger(numeric)
    global _access, _access_debug
    _access_debug = numeric <= logging.DEBUG
    # The line every request writes gets a chain of its own: its fields are known and
    # never secret, and the request id comes as an argument, so it skips the context
    # merge and the redaction walk (half the cost of a log call, measured per POST).
    _access = structlog.wrap_logger(
        output,
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=wrapper,
    ).bind()  # bound now: a lazy proxy would bind again on every call
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            *exceptions,
            renderer,
        ],
        wrapper_class=wrapper,
        logger_factory=lambda *args: output,
        cache_logger_on_first_use=False,
    )
    _route_stdlib(numeric, renderer, exceptions)


def access_debug() -> bool:
    """Whether a request's DEBUG line would be printed (else it is not even built)."""
    return _access_debug


def access_logger() -> Any:
    """The request logger of the current configuration (the default one before any)."""
    return _access if _access is not None else structlog.get_logger("msglog.http")
