"""Telegram Bot API webhook: check the secret header and classify one update (no I/O)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from storage.webhook_events import Received

from .errors import Unauthorized
from .models import WholeInt
from .validation import parse_model

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Update fields we log, and whether each one is an edit of an earlier message.
MESSAGE_FIELDS = {
    "message": False,
    "edited_message": True,
    "channel_post": False,
    "edited_channel_post": True,
}
CHANNEL_FIELDS = {"channel_post", "edited_channel_post"}
# What a message carries besides text, first match wins (a photo with a caption is a photo).
CONTENT_KINDS = (
    "photo",
    "video",
    "animation",
    "document",
    "audio",
    "voice",
    "video_note",
    "sticker",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "text",
)


@dataclass(frozen=True, slots=True)
class Message:
    update_id: str
    edit: bool
    received: Received


@dataclass(frozen=True, slots=True)
class Ignored:
    update_id: str
    reason: str


Update = Message | Ignored


class TelegramUser(BaseModel):
    """Telegram's User: the names we log a sender by."""

    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class TelegramChat(BaseModel):
    """Telegram's Chat: its id (negative for groups and channels) and title."""

    id: WholeInt
    title: str | None = None


class TelegramMessage(BaseModel):
    """Telegram's Message: text or a caption, and what else it carries (photo, sticker...)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    message_id: WholeInt
    chat: TelegramChat
    sender: TelegramUser | None = Field(default=None, alias="from")
    text: str | None = None
    caption: str | None = None


class TelegramUpdate(BaseModel):
    """Telegram's Update: one of these fields is set; other kinds are acknowledged, not stored."""

    update_id: WholeInt
    message: TelegramMessage | None = None
    edited_message: TelegramMessage | None = None
    channel_post: TelegramMessage | None = None
    edited_channel_post: TelegramMessage | None = None


def check_secret(given: str | None, expected: str) -> None:
    """The secret_token set with setWebhook must come back in the header (constant-time)."""
    if given is None or not hmac.compare_digest(
        given.encode("utf-8"), expected.encode("utf-8")
    ):
        raise Unauthorized("missing or wrong secret token")


def source_id(chat_id: int, message_id: int) -> str:
    """message_id is only unique within its chat."""
    return f"tg:{chat_id}:{message_id}"


def _kind(message: TelegramMessage) -> str:
    present = set(message.model_fields_set) | set(message.model_extra or ())
    return next((kind for kind in CONTENT_KINDS if kind in present), "other")


def _sender(message: TelegramMessage, channel: bool) -> str | None:
    user = message.sender
    if not channel and user is not None:
        if user.username:
            return user.username
        names = " ".join(n for n in (user.first_name, user.last_name) if n)
        if names:
            return names
    return message.chat.title


def classify(update: dict[str, Any]) -> Update:
    """The message an update carries (new or edited), or why it is ignored."""
    parsed = parse_model(TelegramUpdate, update)
    update_id = str(parsed.update_id)
    field = next((f for f in MESSAGE_FIELDS if getattr(parsed, f) is not None), None)
    if field is None:
        kinds = sorted(k for k in update if k != "update_id")
        return Ignored(update_id, f"update kind {kinds[0] if kinds else 'none'}")
    message: TelegramMessage = getattr(parsed, field)
    channel = field in CHANNEL_FIELDS
    return Message(
        update_id=update_id,
        edit=MESSAGE_FIELDS[field],
        received=Received(
            source_message_id=source_id(message.chat.id, message.message_id),
            channel_id=str(message.chat.id),
            content=message.text if message.text is not None else message.caption,
            message_type=_kind(message),
            sender_name=_sender(message, channel),
        ),
    )
