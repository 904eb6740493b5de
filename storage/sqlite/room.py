"""Places in the bounded write queue: a free one costs no await, the rest wait in order."""

from __future__ import annotations

import asyncio
from collections import deque


class Room:
    """A counting semaphore for the event loop's hot path.

    asyncio.Semaphore.locked() walks its waiters on every call, and acquire() is a
    coroutine; at thousands of writes a second both showed in the profile.
    """

    def __init__(self, size: int) -> None:
        self.free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    def try_take(self) -> bool:
        """Take a place if one is free and nobody waits before us."""
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return True
        return False

    async def take(self) -> None:
        """Wait in line for a place (bound the wait with asyncio.timeout)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.give()  # granted as the wait ended: pass the place on
            else:
                future.cancel()
                if future in self._waiters:  # give() may have dropped it already
                    self._waiters.remove(future)
            raise

    def give(self) -> None:
        """Return a place: straight to the first waiter, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1

    @property
    def full(self) -> bool:
        return self.free <= 0
