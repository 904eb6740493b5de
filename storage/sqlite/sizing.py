"""How many reads to run at once: measured, not assumed.

In CPython each read connection is a thread competing with the event loop and the
writer for the GIL, so more concurrent reads can serve waiting readers *slower*, and
they take the writer down with them. While readers wait, the tuner moves the number of
reads allowed at once one step at a time, compares the next window with the last one,
and keeps the step only if reads and writes together got faster (the product of their
speed-ups). A step that did not pay is undone, the direction flips, and it holds there
for a while before probing again. The open connections (the pool's size) follow it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

WINDOW_SECONDS = 0.5
# A step must speed reads x writes up by this factor to be kept (noise is a few percent).
REQUIRED_GAIN = 1.05
HOLD_SECONDS = 5.0


class ConcurrencyTuner:
    def __init__(
        self,
        lo: int,
        hi: int,
        start: int | None = None,
        writes_done: Callable[[], int] | None = None,
    ) -> None:
        self.lo = max(1, lo)
        self.hi = max(self.lo, hi)
        self.target = min(self.hi, max(self.lo, start if start is not None else self.lo))
        self._writes_done = writes_done or (lambda: 0)
        self._window_start = time.monotonic()
        self._window_writes = self._writes_done()
        self._reads = 0
        self._demand = False
        self._before: tuple[float, float] | None = None  # rates before the last step
        self._stepped = 0
        self._direction = 1
        self._hold_until = 0.0

    def note_wait(self) -> None:
        self._demand = True

    def note_done(self, count: int, still_waiting: bool) -> None:
        self._reads += count
        self._demand = self._demand or still_waiting
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed < WINDOW_SECONDS:
            return
        writes = self._writes_done()
        rates = (self._reads / elapsed, (writes - self._window_writes) / elapsed)
        demand = self._demand
        self._window_start = now
        self._window_writes = writes
        self._reads = 0
        self._demand = False
        if not demand:
            # Readers were served without waiting: nothing to learn about concurrency.
            self._before = None
            self._stepped = 0
            return
        self._decide(rates, now)

    def _decide(self, rates: tuple[float, float], now: float) -> None:
        if self._stepped and self._before is not None:
            if _speedup(self._before, rates) < REQUIRED_GAIN:
                self.target -= self._stepped  # undo, then look the other way for a while
                self._direction = -self._stepped
                self._hold_until = now + HOLD_SECONDS
                self._stepped = 0
                self._before = None
                return
        self._stepped = 0
        if now >= self._hold_until:
            step = self._direction
            if not self.lo <= self.target + step <= self.hi:
                step = -step
            if self.lo <= self.target + step <= self.hi:
                self.target += step
                self._stepped = step
                self._direction = step
        self._before = rates


def _speedup(before: tuple[float, float], after: tuple[float, float]) -> float:
    """Product of the reads and writes speed-ups; a side that was idle counts as 1."""
    result = 1.0
    for old, new in zip(before, after, strict=True):
        if old > 0:
            result *= new / old
    return result
