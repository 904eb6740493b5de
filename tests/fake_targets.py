"""A local fake of the four platforms' send APIs, with scripted answers.

Every request is recorded under its target (Discord/Feishu hook name, Telegram chat id,
KOOK channel id) before it is answered. Scripts are lists of answers taken in turn per
target; once a script is used up every answer is a success:
"ok", "429" (Retry-After: 0), "429-body" (the platform's own retry_after in the body),
"500", "400", "slow" (answers after `slow_s`), "hold" (answers once `release` is set),
"drop" (the connection closes with no
answer, after the message was taken: the target has it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from typing import Any

from aiohttp import web

FAKE = web.AppKey("fake_targets", "FakeTargets")


class FakeTargets:
    def __init__(self, slow_s: float = 0.5) -> None:
        self.slow_s = slow_s
        self.scripts: dict[str, list[str]] = defaultdict(list)
        # target -> texts in the order they were accepted (answered 200 or dropped)
        self.got: dict[str, list[str]] = defaultdict(list)
        self.requests: list[dict[str, Any]] = []
        # text -> time.monotonic() when it was first accepted (the bench's delay)
        self.first_seen: dict[str, float] = {}
        self._ids = itertools.count(1000)
        # A default answer for every request without a script ("429" for 20 % in the bench).
        self.chooser: Any = None
        self.release = asyncio.Event()

    def script(self, target: str, *answers: str) -> None:
        self.scripts[target].extend(answers)

    def app(self) -> web.Application:
        app = web.Application()
        app[FAKE] = self
        app.router.add_post("/discord/{hook}", self.discord)
        app.router.add_post("/feishu/{hook}", self.feishu)
        app.router.add_post("/bot{token}/sendMessage", self.telegram)
        app.router.add_post("/api/v3/message/create", self.kook)
        return app

    def _next(self, target: str) -> str:
        if self.scripts[target]:
            return self.scripts[target].pop(0)
        if self.chooser is not None:
            answer: str = self.chooser()
            return answer
        return "ok"

    async def _answer(
        self, request: web.Request, target: str, text: str, ok: dict[str, Any],
        refusal: dict[str, Any],
    ) -> web.StreamResponse:
        answer = self._next(target)
        self.requests.append({"target": target, "text": text, "answer": answer,
                              "headers": dict(request.headers), "path": request.path_qs})
        if answer == "slow":
            await asyncio.sleep(self.slow_s)
            answer = "ok"
        if answer == "hold":
            await self.release.wait()
            answer = "ok"
        if answer == "drop":
            self.got[target].append(text)
            assert request.transport is not None
            request.transport.close()
            raise asyncio.CancelledError
        if answer == "429":
            return web.json_response(refusal, status=429, headers={"Retry-After": "0"})
        if answer == "429-body":
            return web.json_response({**refusal, "retry_after": 0,
                                      "parameters": {"retry_after": 0}}, status=429)
        if answer == "500":
            return web.json_response(refusal, status=500)
        if answer == "400":
            return web.json_response(refusal, status=400)
        self.got[target].append(text)
        self.first_seen.setdefault(text, time.monotonic())
        return web.json_response(ok)

    async def discord(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        hook = request.match_info["hook"]
        text = body["content"]
        return await self._answer(
            request, hook, text, {"id": str(next(self._ids)), "content": text},
            {"message": "Unknown Webhook", "code": 10015},
        )

    async def feishu(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return await self._answer(
            request, request.match_info["hook"], body["content"]["text"],
            {"code": 0, "msg": "success"}, {"code": 19001, "msg": "param invalid"},
        )

    async def telegram(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        chat = str(body["chat_id"])
        return await self._answer(
            request, chat, body["text"],
            {"ok": True, "result": {"message_id": next(self._ids), "chat": {"id": chat}}},
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
        )

    async def kook(self, request: web.Request) -> web.StreamResponse:
        body = json.loads(await request.text())
        return await self._answer(
            request, str(body["target_id"]), body["content"],
            {"code": 0, "message": "", "data": {"msg_id": f"kmsg-{next(self._ids)}"}},
            {"code": 40000, "message": "channel not found"},
        )
