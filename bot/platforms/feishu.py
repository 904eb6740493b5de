"""Feishu (Lark): send through a custom bot webhook (msg_type text)."""

from __future__ import annotations

import aiohttp

from .base import Message, Outcome, classify_http, post_json

LIMIT = 4000
# Feishu answers HTTP 200 with a code: 9499 is its rate limit.
RATE_LIMITED = 9499


class Feishu:
    name = "feishu"
    limit = LIMIT

    async def send(self, session: aiohttp.ClientSession, message: Message) -> Outcome:
        if not message.target_url:
            return Outcome("permanent", "the route has no Feishu webhook URL")
        text = message.signed()
        answer = await post_json(
            session, message.target_url, {"msg_type": "text", "content": {"text": text}}
        )
        if isinstance(answer, Outcome):
            return answer
        status, headers, body = answer
        refused = classify_http(status, headers, body, "msg")
        if refused is not None:
            return refused
        code = body.get("code", body.get("StatusCode", 0)) if isinstance(body, dict) else 0
        if code in (0, None):
            return Outcome("sent")
        msg = body.get("msg", "") if isinstance(body, dict) else ""
        if code == RATE_LIMITED:
            return Outcome("retry_after", f"Feishu {code}: {msg}")
        return Outcome("permanent", f"Feishu {code}: {msg}")
