"""Schema migrations by PRAGMA user_version (SQLite DDL lives here)."""

from __future__ import annotations

import sqlite3
from datetime import tzinfo

from ..errors import MigrationError
from ..layout import COUNT_BUCKET_MS, LATENCY_ROUNDED, LATENCY_TABLES
from ..legacy import columns as legacy_map
from ..legacy import routes as legacy_routes
from ..legacy import zone as legacy_time
from ..legacy.columns import NOW_MS
from .schema_v9 import migrate_v9
from .stats_rollup import STATS, migrate_v8

# Unix epoch milliseconds, computable in SQLite 3.35+ without unixepoch('subsec').


ACCOUNTS = f"""
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    password_encrypted TEXT,
    cookie TEXT,
    status TEXT NOT NULL DEFAULT 'offline',
    last_active INTEGER,
    created_at INTEGER NOT NULL DEFAULT ({NOW_MS})
)"""

# 'A@x.com' and 'a@x.com' are one login: refused by the index, not by each caller's check.
ACCOUNT_EMAIL_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS ux_accounts_email_nocase "
    "ON accounts(email COLLATE NOCASE)"
)

MESSAGE_LOGS = f"""
CREATE TABLE message_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kook_message_id TEXT NOT NULL,
    kook_channel_id TEXT NOT NULL,
    content TEXT,
    message_type TEXT,
    sender_name TEXT,
    target_platform TEXT NOT NULL DEFAULT '',
    target_channel TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending',
    error_message TEXT,
    latency_ms INTEGER,
    attempts INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL DEFAULT ({NOW_MS}),
    updated_at INTEGER NOT NULL DEFAULT ({NOW_MS})
)"""

# Every dashboard filter is an equality followed by created_at, so each index serves
# "newest first" with a keyset on (created_at, id) (the rowid ends every index).
MESSAGE_LOG_INDEXES = [
    "CREATE UNIQUE INDEX ux_logs_source_target "
    "ON message_logs(kook_message_id, target_platform, target_channel)",
    "CREATE INDEX ix_logs_created ON message_logs(created_at)",
    "CREATE INDEX ix_logs_status ON message_logs(status, created_at)",
    "CREATE INDEX ix_logs_platform ON message_logs(target_platform, created_at)",
    "CREATE INDEX ix_logs_channel ON message_logs(kook_channel_id, created_at)",
    "CREATE INDEX ix_logs_sender ON message_logs(sender_name, created_at)",
    "CREATE INDEX ix_logs_updated ON message_logs(updated_at)",
]

# Trigram tokenizer: substring search that works for Chinese as well as English.
FTS = [
    "CREATE VIRTUAL TABLE message_fts USING fts5("
    "content, sender_name, content='message_logs', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER message_logs_ai AFTER INSERT ON message_logs BEGIN "
    "INSERT INTO message_fts(rowid, content, sender_name) "
    "VALUES (new.id, new.content, new.sender_name); END",
    "CREATE TRIGGER message_logs_ad AFTER DELETE ON message_logs BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, content, sender_name) "
    "VALUES ('delete', old.id, old.content, old.sender_name); END",
    "CREATE TRIGGER message_logs_au AFTER UPDATE OF content, sender_name ON message_logs "
    "WHEN old.content IS NOT new.content OR old.sender_name IS NOT new.sender_name BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, content, sender_name) "
    "VALUES ('delete', old.id, old.content, old.sender_name); "
    "INSERT INTO message_fts(rowid, content, sender_name) "
    "VALUES (new.id, new.content, new.sender_name); END",
]

# Event ids (KOOK sn, Telegram update_id) already handled: platforms retry deliveries.
WEBHOOK_EVENTS = [
    "CREATE TABLE webhook_events ("
    "source TEXT NOT NULL, event_id TEXT NOT NULL, "
    f"created_at INTEGER NOT NULL DEFAULT ({NOW_MS}), "
    "PRIMARY KEY (source, event_id)) WITHOUT ROWID",
    "CREATE INDEX ix_webhook_events_created ON webhook_events(created_at)",
]

LATEST_VERSION = 9

# Version 4: the full-text index is filled in chunks by the writer, not row by row.
# Every transaction that touches FTS5 writes a new segment and merges older ones, which
# was most of a 100-row batch's cost; rows above `indexed_to` (the tail) are not in the
# index yet, and searches look at them directly (see dialect.text_search).
FTS_PROGRESS = (
    "CREATE TABLE fts_progress (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "indexed_to INTEGER NOT NULL)"
)
INDEXED_TO = "(SELECT indexed_to FROM fts_progress WHERE id = 1)"
# Only rows already in the index are taken out of it: deleting a row the index never
# held would corrupt an external-content FTS5 table.
FTS_DEFERRED = [
    "DROP TRIGGER message_logs_ai",
    "DROP TRIGGER message_logs_ad",
    "DROP TRIGGER message_logs_au",
    f"CREATE TRIGGER message_logs_ai AFTER INSERT ON message_logs WHEN new.id <= {INDEXED_TO} "
    "BEGIN INSERT INTO message_fts(rowid, content, sender_name) "
    "VALUES (new.id, new.content, new.sender_name); END",
    f"CREATE TRIGGER message_logs_ad AFTER DELETE ON message_logs WHEN old.id <= {INDEXED_TO} "
    "BEGIN INSERT INTO message_fts(message_fts, rowid, content, sender_name) "
    "VALUES ('delete', old.id, old.content, old.sender_name); END",
    "CREATE TRIGGER message_logs_au AFTER UPDATE OF content, sender_name ON message_logs "
    "WHEN (old.content IS NOT new.content OR old.sender_name IS NOT new.sender_name) "
    f"AND old.id <= {INDEXED_TO} BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, content, sender_name) "
    "VALUES ('delete', old.id, old.content, old.sender_name); "
    "INSERT INTO message_fts(rowid, content, sender_name) "
    "VALUES (new.id, new.content, new.sender_name); END",
]
# Version 6: the change log. Every insert and update of a row appends its id under a
# new sequence number: the live tail follows the log (whoever wrote the row: this
# process, an import, another msglog on the file), and a reconnecting client names the
# last number it saw. AUTOINCREMENT: a number is never handed out twice, even once the
# trimmed log is empty.
CHANGES_KEPT = 50_000
LOG_CHANGES = [
    "CREATE TABLE log_changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
    "log_id INTEGER NOT NULL)",
    "CREATE TRIGGER log_changes_ai AFTER INSERT ON message_logs BEGIN "
    "INSERT INTO log_changes (log_id) VALUES (new.id); END",
    "CREATE TRIGGER log_changes_au AFTER UPDATE ON message_logs BEGIN "
    "INSERT INTO log_changes (log_id) VALUES (new.id); END",
]

# Version 6 also indexes error_message: a search finds the failure text too.
FTS_V6 = [
    "DROP TRIGGER message_logs_ai",
    "DROP TRIGGER message_logs_ad",
    "DROP TRIGGER message_logs_au",
    "DROP TABLE message_fts",
    "CREATE VIRTUAL TABLE message_fts USING fts5(content, sender_name, error_message, "
    "content='message_logs', content_rowid='id', tokenize='trigram')",
    f"CREATE TRIGGER message_logs_ai AFTER INSERT ON message_logs WHEN new.id <= {INDEXED_TO} "
    "BEGIN INSERT INTO message_fts(rowid, content, sender_name, error_message) "
    "VALUES (new.id, new.content, new.sender_name, new.error_message); END",
    f"CREATE TRIGGER message_logs_ad AFTER DELETE ON message_logs WHEN old.id <= {INDEXED_TO} "
    "BEGIN INSERT INTO message_fts(message_fts, rowid, content, sender_name, error_message) "
    "VALUES ('delete', old.id, old.content, old.sender_name, old.error_message); END",
    "CREATE TRIGGER message_logs_au AFTER UPDATE OF content, sender_name, error_message "
    "ON message_logs WHEN (old.content IS NOT new.content "
    "OR old.sender_name IS NOT new.sender_name OR old.error_message IS NOT new.error_message) "
    f"AND old.id <= {INDEXED_TO} BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, content, sender_name, error_message) "
    "VALUES ('delete', old.id, old.content, old.sender_name, old.error_message); "
    "INSERT INTO message_fts(rowid, content, sender_name, error_message) "
    "VALUES (new.id, new.content, new.sender_name, new.error_message); END",
]
# Platform and sender filters ignore case (platforms are stored lowercase from v6 on).
CASELESS_INDEXES = [
    "DROP INDEX IF EXISTS ix_logs_platform",
    "DROP INDEX IF EXISTS ix_logs_sender",
    "CREATE INDEX ix_logs_platform ON message_logs(target_platform COLLATE NOCASE, created_at)",
    "CREATE INDEX ix_logs_sender ON message_logs(sender_name COLLATE NOCASE, created_at)",
]

# The writer's catch-up, one transaction: index the tail, move the mark past it, and
# trim the change log (a reconnect further behind than that reloads instead).
FTS_CATCH_UP = (
    "INSERT INTO message_fts(rowid, content, sender_name, error_message) "
    f"SELECT id, content, sender_name, error_message FROM message_logs WHERE id > {INDEXED_TO}",
    "UPDATE fts_progress SET indexed_to = "
    "max(indexed_to, coalesce((SELECT max(id) FROM message_logs), 0)) WHERE id = 1",
    "DELETE FROM log_changes WHERE seq <= "
    f"(SELECT max(seq) FROM log_changes) - {CHANGES_KEPT}",
)
FTS_TAIL_ROWS = (
    f"SELECT count(*) FROM message_logs WHERE id > {INDEXED_TO}"
)
# Every 8 segments at a level are merged instead of every 4 (the default): each merge
# rewrites the entries it holds, and fewer levels mean fewer rewrites per row. Searches
# measured no slower; 16 made them 2.5x slower.
FTS_AUTOMERGE = 8

LEGACY_LOG_COLUMNS = {"id", "kook_message_id", "kook_channel_id", "created_at"}


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {r[0] for r in rows}


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()}


def user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def check_migratable(conn: sqlite3.Connection) -> None:
    """Refuse, before anything is written, data that cannot be migrated."""
    version = user_version(conn)
    tables = _tables(conn)
    # Before v5 nothing kept emails unique across case (the older runtime's calls added
    # 'A@x.com' beside 'a@x.com').
    if version < 5 and "accounts" in tables:
        dupes = conn.execute(
            "SELECT group_concat(email, ' = '), count(*) FROM accounts "
            "GROUP BY email COLLATE NOCASE HAVING count(*) > 1 LIMIT 5"
        ).fetchall()
        if dupes:
            listed = ", ".join(f"{emails!r} x{n}" for emails, n in dupes)
            raise MigrationError(
                "cannot migrate: accounts has duplicate emails, compared case-insensitively "
                f"({listed}); remove the duplicates and start again (the file was not changed)"
            )
    # Only the older runtime's tables (version 0) can hold data that v1 cannot take.
    if version >= 1:
        return
    if "accounts" in tables:
        nulls = conn.execute("SELECT count(*) FROM accounts WHERE email IS NULL").fetchone()[0]
        if nulls:
            raise MigrationError(f"cannot migrate: {nulls} account(s) without an email")
    if "message_logs" in tables:
        missing = LEGACY_LOG_COLUMNS - _columns(conn, "message_logs")
        if missing:
            raise MigrationError(
                f"cannot migrate: message_logs lacks columns {sorted(missing)}"
            )


def prepare_new(conn: sqlite3.Connection) -> None:
    """On a brand-new file, settings that only take before anything is written."""
    if user_version(conn) == 0 and not _tables(conn):
        # Lets retention hand freed pages back with PRAGMA incremental_vacuum.
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")


def migrate(conn: sqlite3.Connection, legacy_zone: tzinfo | None = None) -> int:
    """Bring the schema to LATEST_VERSION in one transaction; return the old version.

    `legacy_zone`: where the older runtime wrote its wall-clock times (None: local).
    """
    version = user_version(conn)
    if version >= LATEST_VERSION:
        return version
    check_migratable(conn)
    # Rebuilding a parent table must not cascade into the older runtime's child tables
    # (failed_messages points at message_logs), and this pragma is a no-op inside a
    # transaction, so switch it around the migration.
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version < 1:
            _migrate_v1(conn, legacy_zone)
        if version < 2:
            _migrate_v2(conn)
        if version < 3:
            _migrate_v3(conn)
        if version < 4:
            _migrate_v4(conn)
        if version < 5:
            _migrate_v5(conn)
        if version < 6:
            _migrate_v6(conn)
        if version < 7:
            _migrate_v7(conn)
        if version < 8:
            migrate_v8(conn)
        if version < 9:
            migrate_v9(conn)
        conn.execute(f"PRAGMA user_version = {LATEST_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return version


def _migrate_v4(conn: sqlite3.Connection) -> None:
    """Version 4: the full-text index is filled by the writer in chunks (every row so far
    is in it already), and FTS5 merges its segments less eagerly."""
    conn.execute(FTS_PROGRESS)
    conn.execute(
        "INSERT INTO fts_progress (id, indexed_to) "
        "SELECT 1, coalesce(max(id), 0) FROM message_logs"
    )
    for ddl in FTS_DEFERRED:
        conn.execute(ddl)
    conn.execute(
        "INSERT INTO message_fts(message_fts, rank) VALUES ('automerge', ?)", (FTS_AUTOMERGE,)
    )


def _migrate_v5(conn: sqlite3.Connection) -> None:
    """Version 5: emails are unique whatever their case (check_migratable refused dupes)."""
    conn.execute(ACCOUNT_EMAIL_INDEX)


def _migrate_v6(conn: sqlite3.Connection) -> None:
    """Version 6: lowercase platforms, caseless platform and sender indexes, error_message
    in the full-text index, and the change log (last: the rewrites above are no changes)."""
    # A row whose lowercase twin exists keeps its case (the unique key); filters ignore
    # case anyway.
    conn.execute(
        "UPDATE OR IGNORE message_logs SET target_platform = lower(target_platform) "
        "WHERE target_platform <> lower(target_platform)"
    )
    for ddl in CASELESS_INDEXES + FTS_V6:
        conn.execute(ddl)
    conn.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
    conn.execute(
        "INSERT INTO message_fts(message_fts, rank) VALUES ('automerge', ?)", (FTS_AUTOMERGE,)
    )
    # 'rebuild' indexed every row: the tail is empty.
    conn.execute(FTS_CATCH_UP[1])
    for ddl in LOG_CHANGES:
        conn.execute(ddl)


# Version 7: forwarding. A route sends what arrives in one source channel to one target;
# a received row makes one queued delivery row per enabled matching route, by trigger, in
# the statement (so the transaction) that stores it, whoever the writer is. A queued row
# has next_attempt_at set (pending, or failed and waiting for its retry); success and
# dead clear it. sent_message_id is the target's id of what msglog posted: a message
# arriving with that id is msglog's own and is never forwarded again.
SOURCE_OF_NEW = (
    "coalesce(new.source_platform, CASE WHEN new.kook_message_id LIKE 'tg:%' "
    "THEN 'telegram' ELSE 'kook' END)"
)
FORWARD_ROUTES = [
    "CREATE TABLE IF NOT EXISTS forward_routes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "source_platform TEXT NOT NULL, source_channel TEXT NOT NULL, "
    "target_platform TEXT NOT NULL, target_channel TEXT NOT NULL, target_url TEXT, "
    "enabled INTEGER NOT NULL DEFAULT 1, "
    f"created_at INTEGER NOT NULL DEFAULT ({NOW_MS}), "
    f"updated_at INTEGER NOT NULL DEFAULT ({NOW_MS}), "
    "UNIQUE (source_channel, source_platform, target_platform, target_channel))",
    # A route removed with deliveries still queued: they end, and say why.
    "CREATE TRIGGER IF NOT EXISTS forward_routes_ad AFTER DELETE ON forward_routes BEGIN "
    "UPDATE message_logs SET status = 'dead', error_message = 'route removed', "
    f"next_attempt_at = NULL, updated_at = {NOW_MS} "
    "WHERE route_id = old.id AND next_attempt_at IS NOT NULL; END",
]
DELIVERY_COLUMNS = {
    "source_platform": "TEXT",
    "route_id": "INTEGER",
    "next_attempt_at": "INTEGER",
    "sent_message_id": "TEXT",
}
DELIVERY_INDEXES = [
    # Each route's queue in order, and nothing else: success and dead rows leave it.
    "CREATE INDEX IF NOT EXISTS ix_logs_due ON message_logs(route_id, id) "
    "WHERE next_attempt_at IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS ix_logs_sent ON message_logs(sent_message_id) "
    "WHERE sent_message_id IS NOT NULL",
]
FORWARD_TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS forward_ai AFTER INSERT ON message_logs "
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
    "ON CONFLICT DO NOTHING; END",
    # msglog's own message can arrive before its delivery was recorded: once it is,
    # whatever that message queued is taken back.
    "CREATE TRIGGER IF NOT EXISTS forward_loop_au AFTER UPDATE OF sent_message_id ON message_logs "
    "WHEN new.sent_message_id IS NOT NULL BEGIN "
    "DELETE FROM message_logs WHERE kook_message_id = new.sent_message_id "
    "AND route_id IS NOT NULL AND next_attempt_at IS NOT NULL; END",
]


def _migrate_v7(conn: sqlite3.Connection) -> None:
    """Version 7: forward routes, delivery columns (added in place, no rebuild), the
    queue's partial index, and the trigger that queues a received message's deliveries."""
    # Idempotent: a file whose version was set back (by hand, or by a test) has them.
    for ddl in FORWARD_ROUTES:
        conn.execute(ddl)
    present = _columns(conn, "message_logs")
    for name, kind in DELIVERY_COLUMNS.items():
        if name not in present:
            conn.execute(f"ALTER TABLE message_logs ADD COLUMN {name} {kind}")
    for ddl in DELIVERY_INDEXES + FORWARD_TRIGGERS:
        conn.execute(ddl)
    # The older runtime's forwarding set-up, kept beside its other tables, becomes routes.
    legacy_routes.migrate(conn)


META = "CREATE TABLE IF NOT EXISTS msglog_meta (key TEXT PRIMARY KEY, value TEXT)"


def _migrate_v1(conn: sqlite3.Connection, legacy_zone: tzinfo | None) -> None:
    """Version 1: accounts, message_logs (from the older runtime's tables if present)."""
    tables = _tables(conn)
    _migrate_accounts(conn, "accounts" in tables, legacy_zone)
    _migrate_message_logs(conn, "message_logs" in tables)
    conn.execute(META)


def _migrate_v2(conn: sqlite3.Connection) -> None:
    """Version 2: webhook_events, the de-duplication keys of platform deliveries."""
    for ddl in WEBHOOK_EVENTS:
        conn.execute(ddl)


def _migrate_v3(conn: sqlite3.Connection) -> None:
    """Version 3: statistics rollups (backfilled) and a plain created_at index."""
    for ddl in STATS:
        conn.execute(ddl)
    conn.execute(
        "INSERT INTO stats_counts (bucket, status, platform, n) "
        f"SELECT created_at - created_at % {COUNT_BUCKET_MS}, status, target_platform, "
        "count(*) FROM message_logs GROUP BY 1, 2, 3"
    )
    rounded = LATENCY_ROUNDED.format(l="latency_ms")
    for table, span in LATENCY_TABLES.items():
        conn.execute(
            f"INSERT INTO {table} (bucket, status, platform, latency, n) "
            f"SELECT created_at - created_at % {span}, status, target_platform, "
            f"{rounded}, count(*) FROM message_logs WHERE latency_ms IS NOT NULL "
            "GROUP BY 1, 2, 3, 4"
        )
    # v1 made this index cover the stats columns; the rollups answer those now, and a
    # plain (created_at, rowid) index sorts newest-first pages without a temp b-tree.
    conn.execute("DROP INDEX IF EXISTS ix_logs_created")
    conn.execute("CREATE INDEX ix_logs_created ON message_logs(created_at)")


def _high_water(conn: sqlite3.Connection, table: str) -> int:
    """The highest id `table` ever handed out: AUTOINCREMENT's mark, or its max(id)."""
    mark = conn.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    if "sqlite_sequence" in _tables(conn):
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
        if row is not None and row[0] is not None:
            mark = max(mark, int(row[0]))
    return int(mark)


def _keep_high_water(conn: sqlite3.Connection, table: str, mark: int) -> None:
    """After a rebuild, never hand out an id at or below `mark` again."""
    # Dropping the old table dropped its sqlite_sequence row, and the copy's row says
    # only max(id): ids of rows the older runtime deleted (which its failed_messages and
    # archive still name) would be handed out again.
    if mark <= 0:
        return
    updated = conn.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (mark, table)
    ).rowcount
    if not updated:
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, mark))


def _migrate_accounts(
    conn: sqlite3.Connection, exists: bool, legacy_zone: tzinfo | None
) -> None:
    if not exists:
        conn.execute(ACCOUNTS)
        return
    cols = _columns(conn, "accounts")
    mark = _high_water(conn, "accounts")
    # The older runtime wrote last_active in local wall-clock time; created_at came from
    # CURRENT_TIMESTAMP, which is UTC already.
    legacy_time.register(conn, legacy_zone)
    conn.execute(ACCOUNTS.replace("CREATE TABLE accounts", "CREATE TABLE accounts_new"))
    conn.execute(
        f"INSERT INTO accounts_new (id, {', '.join(legacy_map.ACCOUNT_COLUMNS)}) "
        f"SELECT id, {legacy_map.account_values(cols)} FROM accounts"
    )
    conn.execute("DROP TABLE accounts")
    conn.execute("ALTER TABLE accounts_new RENAME TO accounts")
    _keep_high_water(conn, "accounts", mark)


def _migrate_message_logs(conn: sqlite3.Connection, exists: bool) -> None:
    if exists:
        cols = _columns(conn, "message_logs")
        mark = _high_water(conn, "message_logs")
        conn.execute(
            MESSAGE_LOGS.replace("CREATE TABLE message_logs", "CREATE TABLE message_logs_new")
        )
        conn.execute(
            f"INSERT INTO message_logs_new (id, {', '.join(legacy_map.LOG_COLUMNS)}) "
            f"SELECT id, {legacy_map.log_values(cols)} FROM message_logs"
        )
        conn.execute("DROP TABLE message_logs")
        conn.execute("ALTER TABLE message_logs_new RENAME TO message_logs")
        _keep_high_water(conn, "message_logs", mark)
    else:
        conn.execute(MESSAGE_LOGS)
    for ddl in MESSAGE_LOG_INDEXES + FTS:
        conn.execute(ddl)
    if exists:
        conn.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
