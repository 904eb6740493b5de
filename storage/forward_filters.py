"""Forward filters: the older runtime's filter_rules as msglog keeps them (see
storage.legacy.filters for what each rule means and whether it is applied)."""

from __future__ import annotations

import json
from typing import Any

from .interfaces import Store
from .legacy.filters import INSERT, Rule, params


async def add(db: Store, rule: Rule, origin: str) -> bool:
    """Store one rule; False if the same rule is already kept."""
    result = await db.execute_write(INSERT, params(rule, origin))
    return result.rowcount > 0


async def list_all(db: Store) -> list[dict[str, Any]]:
    rows = await db.execute_read(
        "SELECT id, origin, rule_type, rule_value, scope, enabled, kind, terms, applies, note "
        "FROM forward_filters ORDER BY id"
    )
    for row in rows:
        row["enabled"] = bool(row["enabled"])
        row["applies"] = bool(row["applies"])
        row["terms"] = json.loads(row["terms"] or "[]")
    return rows
