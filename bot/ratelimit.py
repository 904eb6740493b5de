"""Counting failures per client in a sliding window (failed admin logins)."""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable


class FailureLimiter:
    """Blocks a client after `limit` failures within `window` seconds, until the oldest expires.

    Memory stays bounded: at most `max_clients` addresses are tracked, the least recently
    failing ones are forgotten first.
    """

    def __init__(
        self,
        limit: int = 10,
        window: float = 60.0,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._max_clients = max_clients
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        times = self._failures.get(client)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        return times

    def retry_after(self, client: str) -> int:
        """Whole seconds until `client` may try again; 0 when it is not blocked."""
        now = self._clock()
        times = self._recent(client, now)
        if times is None or len(times) < self.limit:
            return 0
        # The client is free again once enough of its failures have left the window.
        release = times[len(times) - self.limit] + self.window
        return max(1, math.ceil(release - now))

    def record_failure(self, client: str) -> None:
        now = self._clock()
        times = self._recent(client, now)
        if times is None:
            times = self._failures[client] = deque(maxlen=self.limit)
        times.append(now)
        self._failures.move_to_end(client)
        while len(self._failures) > self._max_clients:
            self._failures.popitem(last=False)

    def tracked(self) -> int:
        return len(self._failures)
