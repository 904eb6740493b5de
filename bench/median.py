"""Merging repeated runs of one cell: the median of every number, run by run."""

from __future__ import annotations

import statistics
from typing import Any


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result whose numbers are the medians over `runs` (the successful ones)."""
    good = [r for r in runs if r.get("ok")] or runs[:1]
    out = _merge(good)
    out["repeats"] = len(runs)
    if len(good) < len(runs):
        out["failed_repeats"] = [r.get("error") for r in runs if not r.get("ok")]
    if any(r.get("hung") for r in good):
        out["hung"] = True  # a design that hung once is not fixed by the other runs
    if any(r.get("never_acked") for r in good):
        out["never_acked"] = max(r.get("never_acked") or 0 for r in good)
    return out


def _merge(values: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, first in values[0].items():
        column: list[Any] = [v.get(key) for v in values]
        if isinstance(first, bool) or not all(isinstance(c, int | float) for c in column):
            if isinstance(first, dict) and all(isinstance(c, dict) for c in column):
                out[key] = _merge(column)
            else:
                out[key] = first
        elif all(c == first for c in column):
            out[key] = first
        else:
            out[key] = round(statistics.median(column), 3)
    return out
