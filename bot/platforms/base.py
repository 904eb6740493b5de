"""What every platform module offers: the webhook routes what it receives (verify,
decrypt, parse), the delivery worker how it sends (format, split, send, classify)."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from storage.webhook_events import Received

Kind = Literal["sent", "retry_after", "retryable", "permanent"]


@dataclass(frozen=True, slots=True)
class Message:
    """One delivery: what arrived, and where it goes."""

    text: str
    sender: str | None
    target_channel: str
    target_url: str | None

    def signed(self) -> str:
        """The text with its sender in front, for targets that show msglog's bot as author."""
        return f"{self.sender}: {self.text}" if self.sender else self.text


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the target answered: sent (with its id of the message), or why not."""

    kind: Kind
    detail: str = ""
    retry_after: float | None = None
    sent_id: str | None = None


class Platform(Protocol):
    name: str
    limit: int

    async def send(self, session: aiohttp.ClientSession, message: Message) -> Outcome: ...


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message to store once; `event_id` (KOOK sn, Telegram update_id) tells retries."""

    event_id: str | None
    received: Received
    edit: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """Store nothing, answer this JSON (KOOK's URL challenge)."""

    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Noted:
    """Store nothing, but remember the event: a retry of it is told from a new one."""

    event_id: str | None
    message_id: str | None


@dataclass(frozen=True, slots=True)
class Ignored:
    reason: str


Event = Inbound | Answer | Noted | Ignored


class Receiver(Protocol):
    """A platform that delivers to POST /webhooks/{name}."""

    name: str

    async def receive(self, request: web.Request) -> Event:
        """Check (switched on, credentials), read and parse one delivery; raises the
        bot.errors answer (400, 401, 404 disabled, 413, 422) for a bad one."""
        ...

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI path item of its webhook route (components in `schemas()`)."""
        ...

    def schemas(self) -> dict[str, Any]:
        """JSON schemas the path item refers to (#/components/schemas/...)."""
        ...


class BadTargetUrl(ValueError):
    """A target URL that is neither https nor http on a loopback address."""


def check_target_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.hostname:
        raise BadTargetUrl("target_url needs a host")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and _loopback(parts.hostname):
        return url
    raise BadTargetUrl("target_url must be https (or http on a loopback address)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redact_url(url: str | None) -> str | None:
    """Where a URL points, never its path (webhook URLs carry their token there)."""
    if not url:
        return None
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/***"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int) -> list[str]:
    """Parts of at most `limit` UTF-16 units (how the platforms count), never breaking a
    character; a part ends at a line break or space near its end where there is one."""
    parts: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        units = 0
        cut = 0
        for i, ch in enumerate(rest):
            units += 2 if ord(ch) > 0xFFFF else 1
            if units > limit:
                cut = i
                break
        soft = max(rest.rfind("\n", 0, cut), rest.rfind(" ", 0, cut))
        if soft > cut // 2:
            cut = soft + 1
        parts.append(rest[:cut])
        rest = rest[cut:]
    if rest or not parts:
        parts.append(rest)
    return parts


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def retry_after(headers: Any, body: Any) -> float | None:
    """The target's own wait: Retry-After, Discord's retry_after, Telegram's parameters."""
    if isinstance(body, dict):
        if (found := _seconds(body.get("retry_after"))) is not None:
            return found
        params = body.get("parameters")
        if isinstance(params, dict) and (found := _seconds(params.get("retry_after"))) is not None:
            return found
    return _seconds(headers.get("Retry-After"))


def reason(body: Any, *names: str) -> str:
    if isinstance(body, dict):
        for name in names:
            value = body.get(name)
            if isinstance(value, str) and value:
                return value[:300]
    return ""


def classify_http(status: int, headers: Any, body: Any, *reason_fields: str) -> Outcome | None:
    """An HTTP status that is not success on its own; None for a 2xx (the platform looks)."""
    why = reason(body, *reason_fields)
    detail = f"HTTP {status}" + (f": {why}" if why else "")
    if 200 <= status < 300:
        return None
    if status == 429:
        return Outcome("retry_after", detail, retry_after(headers, body))
    if status >= 500 or status == 408:
        return Outcome("retryable", detail)
    return Outcome("permanent", detail)


async def post_json(
    session: aiohttp.ClientSession, url: str, payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, Any] | Outcome:
    """POST and read the answer; a network failure is a retryable outcome (no URL in it)."""
    try:
        async with session.post(url, json=payload, headers=headers) as resp:
            raw = await resp.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            return resp.status, resp.headers, body
    except TimeoutError:
        return Outcome("retryable", "timed out (the target may have the message)")
    except aiohttp.ClientError as exc:
        # str(exc) may name the URL, and a URL may hold a token: the type says enough.
        return Outcome("retryable", f"connection failed: {type(exc).__name__}")
