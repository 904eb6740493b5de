"""PostgreSQL triggers (PL/pgSQL): SQLite's v9 triggers with the same semantics.

Where SQLite fires a trigger per row, these are statement-level triggers with transition
tables (REFERENCING NEW TABLE / OLD TABLE) wherever a statement can touch many rows: one
grouped upsert per rollup table per statement, one change-log insert and one notification
per statement. The two triggers that only ever see single-row updates (loop protection)
stay per row, so their `UPDATE OF column` semantics are SQLite's exactly.

PostgreSQL fires the triggers of one event on one table in alphabetical order of their
names: forward_ai (its own INSERT of the queued rows runs, and is logged and counted,
inside it), then log_changes_ai, then stats_ai.
"""

from __future__ import annotations

from ..layout import COUNT_BUCKET_MS, LATENCY_ROUNDED, LATENCY_TABLES

# Epoch milliseconds now (SQLite's NOW_MS): the same integer clock for every default.
NOW_MS = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint"

# Every writer to message_logs takes this lock (transaction-scoped) before its statement
# touches a row, so transactions that change message_logs commit in the order they took
# their change numbers: a reader that saw seq N never later finds a smaller one appear
# (SQLite has one writer; several PostgreSQL writers otherwise commit out of order).
# 'msglog' + 2; the migration lock is 'msglog' + 1 (schema.MIGRATION_LOCK_KEY).
WRITE_ORDER_LOCK_KEY = 0x6D73676C6F670002
# The change log keeps the last CHANGES_KEPT numbers (as SQLite's schema.CHANGES_KEPT),
# trimmed by the trigger itself each time the numbers pass a multiple of TRIM_EVERY.
CHANGES_KEPT = 50_000
TRIM_EVERY = 1_000
CHANGES_CHANNEL = "msglog_changes"

# A received row's source platform (SQLite's SOURCE_OF_NEW; its LIKE ignores ASCII case).
SOURCE_OF_N = (
    "coalesce(n.source_platform, CASE WHEN n.kook_message_id ILIKE 'tg:%' "
    "THEN 'telegram' ELSE 'kook' END)"
)
# SQLite's lower() folds ASCII letters only, and so were the filters' terms
# (storage.legacy.filters._ascii_lower): fold the content the same way.
_ASCII_LOWER = "translate({x}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_MATCHES = "(SELECT 1 FROM json_array_elements_text(f.terms::json) AS t(value) WHERE {test})"
_CONTENT = _ASCII_LOWER.format(x="coalesce(n.content, '')")
_IN_TEXT = f"strpos({_CONTENT}, t.value) > 0"
# storage.legacy.filters.BLOCKS: true when filter f keeps received row n from being forwarded.
BLOCKS = (
    "CASE f.kind "
    f"WHEN 'keyword_block' THEN EXISTS {_MATCHES.format(test=_IN_TEXT)} "
    f"WHEN 'keyword_allow' THEN NOT EXISTS {_MATCHES.format(test=_IN_TEXT)} "
    f"WHEN 'sender_block' THEN EXISTS {_MATCHES.format(test='t.value = n.sender_name')} "
    f"WHEN 'sender_allow' THEN NOT EXISTS {_MATCHES.format(test='t.value = n.sender_name')} "
    f"WHEN 'type_allow' THEN NOT EXISTS {_MATCHES.format(test='t.value = n.message_type')} "
    "ELSE false END"
)
FILTERED = (
    "NOT EXISTS (SELECT 1 FROM forward_filters AS f WHERE f.applies = 1 "
    f"AND (f.scope IS NULL OR f.scope = n.kook_channel_id) AND {BLOCKS})"
)


def _function(name: str, body: str, declare: str = "") -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$\n"
        f"{declare}BEGIN\n{body}\nRETURN NULL;\nEND\n$fn$"
    )


def _trigger(name: str, table: str, when: str, function: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {name} ON {table}",
        f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {function}()",
    ]


# -- forwarding (SQLite v7/v9: forward_ai, forward_loop_au, sent_parts_*, forward_routes_ad)

FORWARD_AI = _function(
    "msglog_forward_ai",
    "IF NOT EXISTS (SELECT 1 FROM new_rows WHERE status = 'received') THEN\n"
    "  RETURN NULL;  -- also ends the recursion: the queued rows are 'pending'\n"
    "END IF;\n"
    "INSERT INTO message_logs (kook_message_id, kook_channel_id, content, message_type, "
    "sender_name, target_platform, target_channel, status, attempts, created_at, "
    "updated_at, source_platform, route_id, next_attempt_at) "
    "SELECT n.kook_message_id, n.kook_channel_id, n.content, n.message_type, "
    "n.sender_name, r.target_platform, r.target_channel, 'pending', 0, now_ms, now_ms, "
    "r.source_platform, r.id, now_ms "
    "FROM new_rows AS n JOIN forward_routes AS r ON r.source_channel = n.kook_channel_id "
    f"AND r.source_platform = {SOURCE_OF_N} "
    "WHERE n.status = 'received' AND r.enabled = 1 "
    "AND NOT EXISTS (SELECT 1 FROM message_logs AS s "
    "WHERE s.sent_message_id = n.kook_message_id) "
    "AND NOT EXISTS (SELECT 1 FROM sent_parts AS p WHERE p.sent_id = n.kook_message_id) "
    f"AND {FILTERED} "
    "ORDER BY n.id, r.id "
    "ON CONFLICT DO NOTHING;",
    declare=f"DECLARE now_ms bigint := {NOW_MS};\n",
)
# msglog's own message can arrive before its delivery was recorded: once it is, whatever
# that message queued is taken back. Per row: `UPDATE OF` (SQLite's semantics: the column
# is assigned) cannot be combined with transition tables.
FORWARD_LOOP_AU = _function(
    "msglog_forward_loop_au",
    "DELETE FROM message_logs WHERE kook_message_id = NEW.sent_message_id "
    "AND route_id IS NOT NULL AND next_attempt_at IS NOT NULL;",
)
# A part accepted: the row's progress, and whatever msglog's own part queued when it came
# back first is taken back. Also on UPDATE: SQLite's INSERT OR REPLACE fired its insert
# trigger, and an upsert's DO UPDATE on PostgreSQL is an UPDATE.
SENT_PARTS_AI = _function(
    "msglog_sent_parts_ai",
    "UPDATE message_logs SET parts_sent = NEW.part WHERE id = NEW.log_id;\n"
    "IF NEW.sent_id IS NOT NULL THEN\n"
    "  DELETE FROM message_logs WHERE kook_message_id = NEW.sent_id "
    "AND route_id IS NOT NULL AND next_attempt_at IS NOT NULL;\n"
    "END IF;",
)
# Retention removes old deliveries: their parts go with them.
SENT_PARTS_AD = _function(
    "msglog_sent_parts_ad",
    "IF EXISTS (SELECT 1 FROM old_rows WHERE parts_sent > 0) THEN\n"
    "  DELETE FROM sent_parts AS p USING old_rows AS o "
    "WHERE o.parts_sent > 0 AND p.log_id = o.id;\n"
    "END IF;",
)
# A route removed with deliveries still queued: they end, and say why.
FORWARD_ROUTES_AD = _function(
    "msglog_forward_routes_ad",
    "UPDATE message_logs SET status = 'dead', error_message = 'route removed', "
    f"next_attempt_at = NULL, updated_at = {NOW_MS} "
    "WHERE route_id IN (SELECT id FROM old_routes) AND next_attempt_at IS NOT NULL;",
)

# -- the change log (SQLite v6: log_changes_ai, log_changes_au) ---------------------------

WRITE_ORDER = _function(
    "msglog_write_order", f"PERFORM pg_advisory_xact_lock({WRITE_ORDER_LOCK_KEY});"
)
LOG_CHANGES = _function(
    "msglog_log_changes",
    "WITH added AS (INSERT INTO log_changes (log_id) "
    "SELECT id FROM new_rows ORDER BY id RETURNING seq) "
    "SELECT min(seq), max(seq) INTO first_seq, last_seq FROM added;\n"
    "IF last_seq IS NULL THEN\n  RETURN NULL;\nEND IF;\n"
    # Delivered at commit (never for a rollback); one per transaction and payload.
    f"PERFORM pg_notify('{CHANGES_CHANNEL}', last_seq::text);\n"
    f"IF last_seq / {TRIM_EVERY} <> (first_seq - 1) / {TRIM_EVERY} THEN\n"
    f"  DELETE FROM log_changes WHERE seq <= last_seq - {CHANGES_KEPT};\n"
    "END IF;",
    declare="DECLARE first_seq bigint; last_seq bigint;\n",
)

# -- statistics rollups (SQLite v3/v8: stats_ai, stats_ad, stats_au) ----------------------

_ROW = "created_at, status, target_platform, latency_ms"


def _fold(delta: str) -> str:
    """Add the grouped `delta` rows (created_at, status, target_platform, latency_ms, n)
    to every rollup table; groups netting to zero are skipped (an update that changed
    none of the counted columns writes nothing). Ordered: concurrent folds lock the same
    rows in the same order."""
    counts = (
        "INSERT INTO stats_counts AS s (bucket, status, platform, n) "
        f"SELECT created_at - created_at % {COUNT_BUCKET_MS}, status, target_platform, "
        f"sum(n) FROM ({delta}) AS d GROUP BY 1, 2, 3 HAVING sum(n) <> 0 ORDER BY 1, 2, 3 "
        "ON CONFLICT (bucket, status, platform) DO UPDATE SET n = s.n + excluded.n;"
    )
    rounded = LATENCY_ROUNDED.format(l="latency_ms")
    latencies = [
        f"INSERT INTO {table} AS s (bucket, status, platform, latency, n) "
        f"SELECT created_at - created_at % {span}, status, target_platform, {rounded}, "
        f"sum(n) FROM ({delta}) AS d WHERE latency_ms IS NOT NULL GROUP BY 1, 2, 3, 4 "
        "HAVING sum(n) <> 0 ORDER BY 1, 2, 3, 4 "
        "ON CONFLICT (bucket, status, platform, latency) DO UPDATE SET n = s.n + excluded.n;"
        for table, span in LATENCY_TABLES.items()
    ]
    return "\n".join([counts, *latencies])


STATS_AI = _function("msglog_stats_ai", _fold(f"SELECT {_ROW}, 1 AS n FROM new_rows"))
STATS_AD = _function("msglog_stats_ad", _fold(f"SELECT {_ROW}, -1 AS n FROM old_rows"))
STATS_AU = _function(
    "msglog_stats_au",
    _fold(
        f"SELECT {_ROW}, -1 AS n FROM old_rows UNION ALL SELECT {_ROW}, 1 AS n FROM new_rows"
    ),
)

_NEW = "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
_OLD = "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT"
_BOTH = "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"

FUNCTIONS = [
    WRITE_ORDER, LOG_CHANGES, STATS_AI, STATS_AD, STATS_AU,
    FORWARD_AI, FORWARD_LOOP_AU, SENT_PARTS_AI, SENT_PARTS_AD, FORWARD_ROUTES_AD,
]
# Trigger name -> table, as created below (the names are SQLite's, plus write_order).
TRIGGERS = {
    "message_logs_write_order": "message_logs",
    "log_changes_ai": "message_logs",
    "log_changes_au": "message_logs",
    "stats_ai": "message_logs",
    "stats_ad": "message_logs",
    "stats_au": "message_logs",
    "forward_ai": "message_logs",
    "forward_loop_au": "message_logs",
    "sent_parts_ad": "message_logs",
    "sent_parts_ai": "sent_parts",
    "forward_routes_ad": "forward_routes",
}
DDL = [
    *FUNCTIONS,
    *_trigger(
        "message_logs_write_order", "message_logs",
        "BEFORE INSERT OR UPDATE OR DELETE ON message_logs FOR EACH STATEMENT",
        "msglog_write_order",
    ),
    *_trigger("log_changes_ai", "message_logs", f"AFTER INSERT ON message_logs {_NEW}",
              "msglog_log_changes"),
    *_trigger("log_changes_au", "message_logs", f"AFTER UPDATE ON message_logs {_NEW}",
              "msglog_log_changes"),
    *_trigger("stats_ai", "message_logs", f"AFTER INSERT ON message_logs {_NEW}",
              "msglog_stats_ai"),
    *_trigger("stats_ad", "message_logs", f"AFTER DELETE ON message_logs {_OLD}",
              "msglog_stats_ad"),
    *_trigger("stats_au", "message_logs", f"AFTER UPDATE ON message_logs {_BOTH}",
              "msglog_stats_au"),
    *_trigger("forward_ai", "message_logs", f"AFTER INSERT ON message_logs {_NEW}",
              "msglog_forward_ai"),
    *_trigger(
        "forward_loop_au", "message_logs",
        "AFTER UPDATE OF sent_message_id ON message_logs FOR EACH ROW "
        "WHEN (NEW.sent_message_id IS NOT NULL)",
        "msglog_forward_loop_au",
    ),
    *_trigger("sent_parts_ad", "message_logs", f"AFTER DELETE ON message_logs {_OLD}",
              "msglog_sent_parts_ad"),
    *_trigger("sent_parts_ai", "sent_parts",
              "AFTER INSERT OR UPDATE ON sent_parts FOR EACH ROW", "msglog_sent_parts_ai"),
    *_trigger(
        "forward_routes_ad", "forward_routes",
        "AFTER DELETE ON forward_routes REFERENCING OLD TABLE AS old_routes "
        "FOR EACH STATEMENT",
        "msglog_forward_routes_ad",
    ),
]
