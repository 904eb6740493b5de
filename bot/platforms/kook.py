"""KOOK: send as msglog's bot with message/create (target_id, content)."""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from .base import Message, Outcome, classify_http, post_json

LIMIT = 8000


class Kook:
    name = "kook"
    limit = LIMIT

    def __init__(self, api_base: str, token: SecretStr | None) -> None:
        self.api_base = api_base.rstrip("/")
        self.token = token

    async def send(self, session: aiohttp.ClientSession, message: Message) -> Outcome:
        if self.token is None or not self.token.get_secret_value():
            return Outcome("permanent", "MSGLOG_KOOK_BOT_TOKEN is not set")
        text = message.signed()
        answer = await post_json(
            session,
            f"{self.api_base}/api/v3/message/create",
            {"target_id": message.target_channel, "content": text, "type": 1},
            {"Authorization": f"Bot {self.token.get_secret_value()}"},
        )
        if isinstance(answer, Outcome):
            return answer
        status, headers, body = answer
        refused = classify_http(status, headers, body, "message")
        if refused is not None:
            return refused
        code = body.get("code") if isinstance(body, dict) else None
        if code != 0:
            why = body.get("message", "") if isinstance(body, dict) else ""
            return Outcome("permanent", f"KOOK {code}: {why}")
        sent = (body.get("data") or {}).get("msg_id")
        return Outcome("sent", sent_id=None if sent is None else str(sent))
