"""Telegram: send as msglog's bot with sendMessage (chat_id, text)."""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from .base import Message, Outcome, classify_http, post_json

LIMIT = 4096


class Telegram:
    name = "telegram"
    limit = LIMIT

    def __init__(self, api_base: str, token: SecretStr | None) -> None:
        self.api_base = api_base.rstrip("/")
        self.token = token

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
        return Outcome("sent", sent_id=None if sent is None else f"tg:{chat}:{sent}")
