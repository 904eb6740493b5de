"""How many reads to run at once: measured, not assumed.

In CPython each read connection is a thread competing with the event loop and the
writer for the GIL, so more connections can serve waiting readers *slower*. The tuner
climbs one step at a time while readers wait, keeps a step only if throughput rose, and
after a step that did not pay holds below it for a while before probing again.
"""

from __future__ import annotations

import time

WINDOW_SECONDS = 0.25
# A step up must raise reads/s by this factor to be kept (noise is a few percent).
REQUIRED_GAIN = 1.05
HOLD_SECONDS = 5.0


class ConcurrencyTuner:
    def __init__(self, lo: int, hi: int) -> None:
        self.lo = lo
        self.hi = hi
        self.target = lo
        self._window_start = time.monotonic()
        self._done = 0
        self._demand = False
        self._prev_rate: float | None = None
        self._stepped_up = False
        self._ceiling = hi + 1
        self._ceiling_until = 0.0

    def note_wait(self) -> None:
        self._demand = True

    def note_done(self, count: int, still_waiting: bool) -> None:
        self._done += count
        self._demand = self._demand or still_waiting
        now = time.monotonic()
        elapsed = now - self._window_start
        if elapsed < WINDOW_SECONDS:
            return
        rate = self._done / elapsed
        demand = self._demand
        self._window_start = now
        self._done = 0
        self._demand = False
        if not demand:
            # Readers were served without waiting: nothing to learn about size.
            self._prev_rate = None
            self._stepped_up = False
            return
        self._decide(rate, now)

    def _decide(self, rate: float, now: float) -> None:
        prev = self._prev_rate
        if self._stepped_up and prev is not None and rate < prev * REQUIRED_GAIN:
            self.target -= 1
            self._ceiling = self.target + 1
            self._ceiling_until = now + HOLD_SECONDS
            self._stepped_up = False
            self._prev_rate = None
            return
        ceiling = self._ceiling if now < self._ceiling_until else self.hi + 1
        if self.target < self.hi and self.target + 1 < ceiling:
            self.target += 1
            self._stepped_up = True
        else:
            self._stepped_up = False
        self._prev_rate = rate
