"""LISTEN for the change log's notifications: rows any instance commits wake the tail."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .triggers import CHANGES_CHANNEL

log = logging.getLogger("msglog.storage")
# After a lost listening connection: the tail's own polling covers the gap meanwhile.
RECONNECT_S = 1.0


class ChangeListener:
    """One connection LISTENing on the change channel; reconnects when it is lost."""

    def __init__(self, connect: Callable[[], Awaitable[Any]], on_change: Callable[[], None]):
        self._connect = connect
        self._on_change = on_change
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.notifications = 0
        self.reconnects = 0

    async def start(self) -> None:
        await self._listen()
        self._task = asyncio.get_running_loop().create_task(
            self._keep(), name="msglog-pg-listen"
        )

    async def _listen(self) -> None:
        conn = await self._connect()
        conn.add_termination_listener(lambda _conn: self._lost.set())
        await conn.add_listener(CHANGES_CHANNEL, self._notified)
        self._conn = conn
        self._lost.clear()

    def _notified(self, _conn: Any, _pid: int, _channel: str, _payload: str) -> None:
        self.notifications += 1
        self._on_change()

    async def _keep(self) -> None:
        while True:
            await self._lost.wait()
            self._conn = None
            while True:
                await asyncio.sleep(RECONNECT_S)
                try:
                    await self._listen()
                except Exception as exc:  # the server may be away for a while
                    log.warning("msglog could not listen for changes again: %s", exc)
                    continue
                self.reconnects += 1
                # What committed while nobody listened: the tail reads from its last seq.
                self._on_change()
                break

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None
