"""Discord: send through a channel webhook (content, username = sender)."""

from __future__ import annotations

from typing import Any

import aiohttp

from .base import Message, Outcome, classify_http, post_json

LIMIT = 2000


class Discord:
    name = "discord"
    limit = LIMIT

    async def send(self, session: aiohttp.ClientSession, message: Message) -> Outcome:
        if not message.target_url:
            return Outcome("permanent", "the route has no Discord webhook URL")
        payload: dict[str, Any] = {"content": message.text}
        if message.sender:
            payload["username"] = message.sender[:80]
        url = message.target_url + ("&" if "?" in message.target_url else "?") + "wait=true"
        answer = await post_json(session, url, payload)
        if isinstance(answer, Outcome):
            return answer
        status, headers, body = answer
        refused = classify_http(status, headers, body, "message")
        if refused is not None:
            return refused
        sent = body.get("id") if isinstance(body, dict) else None
        return Outcome("sent", sent_id=None if sent is None else str(sent))
