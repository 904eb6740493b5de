"""Schema version 9: forwarding filters, multi-part progress, per-route indexes.

- The queueing trigger (v7's forward_ai) also skips a received message that one of the
  applied forward filters (storage.forward_filters: the older runtime's filter_rules)
  keeps from being forwarded; the file's own filter_rules are kept as forward filters.
- `parts_sent`: how many parts of a split delivery the target accepted, so a retry or a
  resend goes on from the first part it did not. Each accepted part but the last (whose
  id is the row's sent_message_id) is kept in `sent_parts`: every part msglog posted is
  its own message, and loop protection must know them all.
- Each route's deliveries by status and newest first (the dashboard's deliveries view),
  from partial indexes that hold delivery rows only.
"""

from __future__ import annotations

import sqlite3

from ..legacy import filters as forward_filters
from ..legacy.columns import NOW_MS

# As schema.SOURCE_OF_NEW (not imported: schema imports this module).
SOURCE_OF_NEW = (
    "coalesce(new.source_platform, CASE WHEN new.kook_message_id LIKE 'tg:%' "
    "THEN 'telegram' ELSE 'kook' END)"
)
FORWARD_AI = (
    "CREATE TRIGGER forward_ai AFTER INSERT ON message_logs "
    "WHEN new.status = 'received' "
    "BEGIN INSERT INTO message_logs (kook_message_id, kook_channel_id, content, "
    "message_type, sender_name, target_platform, target_channel, status, attempts, "
    "created_at, updated_at, source_platform, route_id, next_attempt_at) "
    "SELECT new.kook_message_id, new.kook_channel_id, new.content, new.message_type, "
    "new.sender_name, r.target_platform, r.target_channel, 'pending', 0, "
    f"{NOW_MS}, {NOW_MS}, r.source_platform, r.id, {NOW_MS} "
    "FROM forward_routes AS r WHERE r.source_channel = new.kook_channel_id "
    f"AND r.source_platform = {SOURCE_OF_NEW} AND r.enabled = 1 "
    "AND NOT EXISTS (SELECT 1 FROM message_logs AS s "
    "WHERE s.sent_message_id = new.kook_message_id) "
    "AND NOT EXISTS (SELECT 1 FROM sent_parts AS p WHERE p.sent_id = new.kook_message_id) "
    f"AND {forward_filters.FILTERED} "
    "ON CONFLICT DO NOTHING; END"
)
SENT_PARTS = [
    "CREATE TABLE IF NOT EXISTS sent_parts (log_id INTEGER NOT NULL, part INTEGER NOT NULL, "
    "sent_id TEXT, PRIMARY KEY (log_id, part)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS ix_sent_parts_sent ON sent_parts(sent_id) "
    "WHERE sent_id IS NOT NULL",
    # A part accepted: the row's progress, and (as forward_loop_au does for the last
    # part) whatever msglog's own part queued when it came back first is taken back.
    "CREATE TRIGGER IF NOT EXISTS sent_parts_ai AFTER INSERT ON sent_parts BEGIN "
    "UPDATE message_logs SET parts_sent = new.part WHERE id = new.log_id; "
    "DELETE FROM message_logs WHERE new.sent_id IS NOT NULL "
    "AND kook_message_id = new.sent_id AND route_id IS NOT NULL "
    "AND next_attempt_at IS NOT NULL; END",
    # Retention removes old deliveries: their parts go with them.
    "CREATE TRIGGER IF NOT EXISTS sent_parts_ad AFTER DELETE ON message_logs "
    "WHEN old.parts_sent > 0 BEGIN DELETE FROM sent_parts WHERE log_id = old.id; END",
]
ROUTE_INDEXES = [
    "CREATE INDEX IF NOT EXISTS ix_logs_route_status ON message_logs(route_id, status) "
    "WHERE route_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ix_logs_route ON message_logs(route_id) "
    "WHERE route_id IS NOT NULL",
]


def migrate_v9(conn: sqlite3.Connection) -> None:
    forward_filters.migrate(conn)
    present = {r[1] for r in conn.execute("PRAGMA table_info(message_logs)").fetchall()}
    if "parts_sent" not in present:
        conn.execute(
            "ALTER TABLE message_logs ADD COLUMN parts_sent INTEGER NOT NULL DEFAULT 0"
        )
    for ddl in SENT_PARTS:
        conn.execute(ddl)
    conn.execute("DROP TRIGGER IF EXISTS forward_ai")
    conn.execute(FORWARD_AI)
    for ddl in ROUTE_INDEXES:
        conn.execute(ddl)
