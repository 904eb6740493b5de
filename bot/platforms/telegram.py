"""Telegram: Bot API webhook updates in (secret header, classify), sendMessage out."""

from __future__ import annotations

import hmac
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from storage.webhook_events import Received

from ..errors import Disabled, Unauthorized
from ..jsonbody import decode_object
from ..models import WholeInt
from ..settings import Settings
from ..validation import no_query, parse_model
from .base import Event, Ignored, Inbound, Message, Outcome, classify_http, post_json

LIMIT = 4096
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
    "photo", "video", "animation", "document", "audio", "voice", "video_note", "sticker",
    "location", "venue", "contact", "poll", "dice", "text",
)
REF = "#/components/schemas/{model}"


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


def source_id(chat_id: int | str, message_id: int | str) -> str:
    """message_id is only unique within its chat (loop protection compares this form)."""
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


def classify(update: dict[str, Any]) -> Event:
    """The message an update carries (new or edited), or why it is ignored."""
    parsed = parse_model(TelegramUpdate, update)
    update_id = str(parsed.update_id)
    field = next((f for f in MESSAGE_FIELDS if getattr(parsed, f) is not None), None)
    if field is None:
        kinds = sorted(k for k in update if k != "update_id")
        return Ignored(f"update kind {kinds[0] if kinds else 'none'}")
    message: TelegramMessage = getattr(parsed, field)
    channel = field in CHANNEL_FIELDS
    received = Received(
        source_message_id=source_id(message.chat.id, message.message_id),
        channel_id=str(message.chat.id),
        content=message.text if message.text is not None else message.caption,
        message_type=_kind(message),
        sender_name=_sender(message, channel),
        source_platform="telegram",
    )
    return Inbound(update_id, received, edit=MESSAGE_FIELDS[field])


class Telegram:
    name = "telegram"
    limit = LIMIT

    def __init__(self, settings: Settings) -> None:
        self.api_base = settings.telegram_api_base.rstrip("/")
        self.token: SecretStr | None = settings.telegram_bot_token
        self.secret = settings.telegram_secret_token

    # -- receive --------------------------------------------------------------------

    async def receive(self, request: web.Request) -> Event:
        given = request.headers.get(SECRET_HEADER)
        if given is None:
            # A required header missing is the request's fault whatever the settings say.
            raise Unauthorized(f"missing {SECRET_HEADER} header")
        if self.secret is None:
            raise Disabled(
                "telegram webhook disabled: set MSGLOG_TELEGRAM_SECRET_TOKEN to enable it"
            )
        no_query(request)
        check_secret(given, self.secret.get_secret_value())
        return classify(decode_object(await request.read()))

    def openapi(self) -> dict[str, Any]:
        # Imported here: bot.openapi imports the platforms to describe their webhooks.
        from ..openapi import ACK, _errors, _json

        secret_header = {
            "name": SECRET_HEADER,
            "in": "header",
            "required": True,
            "description": "the secret_token given to setWebhook (MSGLOG_TELEGRAM_SECRET_TOKEN)",
            "schema": {"type": "string"},
        }
        return {"post": {
            "summary": "Telegram webhook: one Update per delivery",
            "parameters": [secret_header],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": REF.format(model="TelegramUpdate")}}}},
            "responses": {
                "200": _json(ACK, "acknowledged, after the message is committed"),
                **_errors(400, 401, 413, 422, 503),
                **_errors(404, disabled=True),
            },
        }}

    def schemas(self) -> dict[str, Any]:
        schema = TelegramUpdate.model_json_schema(ref_template=REF)
        found: dict[str, Any] = schema.pop("$defs", {})
        return {**found, "TelegramUpdate": schema}

    # -- send -----------------------------------------------------------------------

    async def send(self, session: aiohttp.ClientSession, message: Message) -> Outcome:
        if self.token is None or not self.token.get_secret_value():
            return Outcome("permanent", "MSGLOG_TELEGRAM_BOT_TOKEN is not set")
        url = f"{self.api_base}/bot{self.token.get_secret_value()}/sendMessage"
        text = message.signed()
        answer = await post_json(
            session, url, {"chat_id": message.target_channel, "text": text}
        )
        if isinstance(answer, Outcome):
            return answer
        status, headers, body = answer
        refused = classify_http(status, headers, body, "description")
        if refused is not None:
            return refused
        if not isinstance(body, dict) or not body.get("ok"):
            return Outcome("retryable", "Telegram answered without ok")
        result = body.get("result") or {}
        chat = (result.get("chat") or {}).get("id", message.target_channel)
        sent = result.get("message_id")
        # The id a webhook stores this message under: what loop protection compares.
        return Outcome("sent", sent_id=None if sent is None else source_id(chat, sent))
