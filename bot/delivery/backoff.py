"""When to try a failed delivery again: exponential backoff with jitter, or the target's word."""

from __future__ import annotations

import random


def delay_s(
    attempts: int, base_ms: int, max_s: float, retry_after: float | None = None,
    rand: random.Random | None = None,
) -> float:
    """Seconds until the next try after `attempts` tries.

    A target that said how long to wait is waited for (plus up to 10 %, so a crowd of
    rows told the same second do not all come back at once); otherwise base * 2^(n-1),
    capped, with "equal jitter" (between half and all of it).
    """
    pick: float = (rand or random).random()
    if retry_after is not None:
        return min(max_s, retry_after) * (1 + 0.1 * pick)
    step = min(max_s, base_ms / 1000 * 2.0 ** max(0, attempts - 1))
    return step / 2 + step / 2 * pick
