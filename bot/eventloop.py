"""The event loop the service runs on: uvloop when it is installed, asyncio's otherwise."""

from __future__ import annotations

import asyncio


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop (libuv) if importable: it parses HTTP and schedules tasks faster."""
    try:
        import uvloop
    except ImportError:  # not built for this platform (Windows): asyncio's loop serves
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
