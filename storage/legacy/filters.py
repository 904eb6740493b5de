"""The older runtime's filter_rules, kept as forward filters: applied where msglog can.

Its rules (rule_type, rule_value: a JSON list, scope: 'global' or a channel id, enabled)
decided whether a message was forwarded at all. msglog keeps every one of them, and
applies those it can read the same way, in the trigger that queues a received message's
deliveries (so whoever writes the row, in its statement): keyword_blacklist /
keyword_whitelist (plain text, ASCII case ignored), user_blacklist / user_whitelist
(sender names) and message_type. A rule it cannot read the same way (a regular
expression, user ids, @all mentions, an unknown type, a value that is not a list) is
kept with the reason, shown by GET /api/admin/filters and the import summary, and
forwards nothing less.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from ..timeutil import now_ms

KINDS = {
    "keyword_blacklist": "keyword_block",
    "keyword_whitelist": "keyword_allow",
    "user_blacklist": "sender_block",
    "user_whitelist": "sender_allow",
    "message_type": "type_allow",
}
WHAT = {
    "keyword_block": "a message containing any of {n} keyword(s) is not forwarded",
    "keyword_allow": "only a message containing one of {n} keyword(s) is forwarded",
    "sender_block": "a message from any of {n} sender(s) is not forwarded",
    "sender_allow": "only a message from one of {n} sender(s) is forwarded",
    "type_allow": "only a message of {n} type(s) is forwarded",
}
REGEX_CHARS = set(".^$*+?{}[]\\|()")
TABLE = (
    "CREATE TABLE IF NOT EXISTS forward_filters (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "origin TEXT NOT NULL, rule_type TEXT, rule_value TEXT, scope TEXT, "
    "enabled INTEGER NOT NULL, kind TEXT, terms TEXT, applies INTEGER NOT NULL, "
    "note TEXT NOT NULL, raw TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL)"
)
INSERT = (
    "INSERT INTO forward_filters (origin, rule_type, rule_value, scope, enabled, "
    "kind, terms, applies, note, raw, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (raw) DO NOTHING"
)
_MATCHES = "(SELECT 1 FROM json_each(f.terms) AS t WHERE {test})"
_IN_TEXT = "instr(lower(coalesce(new.content, '')), t.value) > 0"
# True when filter f keeps the new received row from being forwarded.
BLOCKS = (
    "CASE f.kind "
    f"WHEN 'keyword_block' THEN EXISTS {_MATCHES.format(test=_IN_TEXT)} "
    f"WHEN 'keyword_allow' THEN NOT EXISTS {_MATCHES.format(test=_IN_TEXT)} "
    f"WHEN 'sender_block' THEN EXISTS {_MATCHES.format(test='t.value = new.sender_name')} "
    f"WHEN 'sender_allow' THEN NOT EXISTS {_MATCHES.format(test='t.value = new.sender_name')} "
    f"WHEN 'type_allow' THEN NOT EXISTS {_MATCHES.format(test='t.value = new.message_type')} "
    "ELSE 0 END"
)
FILTERED = (
    "NOT EXISTS (SELECT 1 FROM forward_filters AS f WHERE f.applies = 1 "
    f"AND (f.scope IS NULL OR f.scope = new.kook_channel_id) AND {BLOCKS})"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One of the older runtime's rules, as msglog reads it."""

    rule_type: str | None
    rule_value: str | None
    scope: str | None
    enabled: bool
    kind: str | None
    terms: list[str]
    applies: bool
    note: str
    raw: str

    def describe(self) -> str:
        where = "everywhere" if self.scope is None else f"in channel {self.scope}"
        value = self.rule_value if len(self.rule_value or "") <= 60 else (
            (self.rule_value or "")[:57] + "...")
        return f"{self.rule_type or '(no rule_type)'} {value!s} {where}: {self.note}"


def _ascii_lower(text: str) -> str:
    # SQLite's lower() folds ASCII letters only: the terms are folded the same way.
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def _pick(row: dict[str, Any], *names: str) -> Any:
    return next((row[n] for n in names if row.get(n) is not None), None)


def _terms(value: Any) -> list[str] | None:
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if not isinstance(parsed, list) or not all(isinstance(t, str) for t in parsed):
        return None
    return parsed


def _unreadable(kind: str, terms: list[str]) -> str | None:
    """Why msglog cannot apply the terms as the older runtime did, or None."""
    if not terms:
        return "empty: it matches nothing (the older runtime ignored it too)"
    for term in terms:
        if kind.startswith("keyword") and REGEX_CHARS & set(term):
            return f"keyword {term!r} is a regular expression: msglog matches plain text only"
        if kind.startswith("sender") and term.isdigit():
            return f"{term!r} looks like a user id: msglog logs sender names only"
    return None


def interpret(row: dict[str, Any]) -> Rule:
    """What one filter_rules row (any layout) means to msglog."""
    rule_type = _pick(row, "rule_type", "type")
    value = _pick(row, "rule_value", "value", "rule", "pattern")
    scope = _pick(row, "scope")
    scope = None if scope in (None, "", "global") else str(scope)
    enabled = _pick(row, "enabled", "is_active", "active")
    on = enabled is None or bool(enabled)
    raw = json.dumps({k: v for k, v in row.items() if k != "id"}, sort_keys=True,
                     ensure_ascii=False, default=str)
    value_text = None if value is None else str(value)
    kind = KINDS.get(str(rule_type)) if rule_type is not None else None
    terms = _terms(value) if kind else None
    if rule_type is None:
        why = "it has no rule_type: msglog cannot tell what it does"
    elif str(rule_type).startswith("regex_"):
        why = "a regular expression rule: msglog matches plain text only"
    elif rule_type == "mention_all_only":
        why = "msglog does not record @all mentions"
    elif kind is None:
        why = f"unknown rule type {rule_type!r}"
    elif terms is None:
        why = "rule_value is not a JSON list of strings (the older runtime skipped it too)"
    else:
        why = _unreadable(kind, terms) or ""
    if why or kind is None or terms is None:
        return Rule(rule_type, value_text, scope, on, None, [], False, f"not applied: {why}", raw)
    folded = [_ascii_lower(t) for t in terms] if kind.startswith("keyword") else terms
    what = WHAT[kind].format(n=len(terms))
    if not on:
        return Rule(rule_type, value_text, scope, on, kind, folded, False,
                    f"not applied: disabled in the older runtime ({what} when enabled)", raw)
    return Rule(rule_type, value_text, scope, on, kind, folded, True, f"applied: {what}", raw)


def params(rule: Rule, origin: str) -> tuple[Any, ...]:
    return (origin, rule.rule_type, rule.rule_value, rule.scope, int(rule.enabled), rule.kind,
            json.dumps(rule.terms, ensure_ascii=False), int(rule.applies), rule.note,
            rule.raw, now_ms())


def legacy_rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The older runtime's filter_rules in `conn` (any columns); none without the table."""
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'filter_rules'"
    ).fetchone()
    if found is None:
        return []
    cur = conn.execute("SELECT * FROM filter_rules ORDER BY rowid")
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def migrate(conn: sqlite3.Connection) -> list[Rule]:
    """Keep the file's own filter_rules as forward filters (in place); what they mean."""
    conn.execute(TABLE)
    rules = [interpret(r) for r in legacy_rows(conn)]
    for rule in rules:
        conn.execute(INSERT, params(rule, "in place"))
    return rules
