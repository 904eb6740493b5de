"""The ceiling for POST /api/messages: aiohttp answering 201 without touching a database."""

from __future__ import annotations

import sys

from aiohttp import web

from bot import eventloop


async def accept(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({"ids": [1]}, status=201)


def main() -> None:
    app = web.Application()
    app.router.add_post("/api/messages", accept)
    app.router.add_get("/healthz", lambda request: web.json_response({"status": "ok"}))
    # The same event loop as msglog's, so the ratio measures msglog, not the loop.
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None,
                loop=eventloop.new_event_loop())


if __name__ == "__main__":
    main()
