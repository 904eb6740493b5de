"""A database as the older runtime wrote it, for migration and import tests."""

from __future__ import annotations

import base64
import shutil
import sqlite3
from pathlib import Path

from cryptography.fernet import Fernet

LEGACY_SCHEMA = """
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL,
    password_encrypted TEXT,
    cookie TEXT,
    status TEXT DEFAULT 'offline',
    last_active TIMESTAMP,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE message_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kook_message_id TEXT NOT NULL UNIQUE,
    kook_channel_id TEXT NOT NULL,
    content TEXT,
    message_type TEXT,
    sender_name TEXT,
    target_platform TEXT,
    target_channel TEXT,
    status TEXT,
    error_message TEXT,
    latency_ms INTEGER,
    created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE failed_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_log_id INTEGER REFERENCES message_logs(id),
    retry_count INTEGER DEFAULT 0,
    last_retry TIMESTAMP
);
CREATE TABLE message_logs_archive (
    id INTEGER PRIMARY KEY,
    kook_message_id TEXT NOT NULL,
    kook_channel_id TEXT NOT NULL,
    content TEXT,
    message_type TEXT,
    sender_name TEXT,
    target_platform TEXT,
    target_channel TEXT,
    status TEXT,
    error_message TEXT,
    latency_ms INTEGER,
    created_at TIMESTAMP,
    archived_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE bot_configs (id INTEGER PRIMARY KEY, platform TEXT, config TEXT);
CREATE TABLE channel_mappings (id INTEGER PRIMARY KEY, kook_channel_id TEXT, target TEXT);
CREATE TABLE filter_rules (id INTEGER PRIMARY KEY, rule TEXT);
CREATE TABLE system_config (key TEXT PRIMARY KEY, value TEXT);
CREATE INDEX idx_logs_created ON message_logs(created_at);
"""


def make_legacy_db(
    path: Path,
    logs: int = 50,
    duplicate_email: bool = False,
    archived_top: int = 0,
    wal: bool = False,
) -> None:
    """`archived_top`: the newest logs moved to the archive (failed_messages still names
    the newest); `wal`: the file in WAL mode, closed cleanly (no -wal left)."""
    conn = sqlite3.connect(path)
    if wal:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(LEGACY_SCHEMA)
    conn.execute(
        "INSERT INTO accounts (id, email, password_encrypted, cookie, status, last_active, "
        "created_at) VALUES (3, 'bot@kook.io', 'gAAAA-old', 'sid=plain-cookie', 'online', "
        "'2025-11-11 10:00:00.123456', '2025-11-01 08:00:00')"
    )
    conn.execute("INSERT INTO accounts (id, email) VALUES (7, 'second@kook.io')")
    if duplicate_email:
        conn.execute("INSERT INTO accounts (email) VALUES ('bot@kook.io')")
    for n in range(1, logs + 1):
        # Gaps in ids on purpose: other tables point at them, so they must be kept.
        conn.execute(
            "INSERT INTO message_logs (id, kook_message_id, kook_channel_id, content, "
            "message_type, sender_name, target_platform, target_channel, status, "
            "error_message, latency_ms, created_at) VALUES (?, ?, ?, ?, '1', ?, ?, ?, ?, ?, ?, ?)",
            (
                n * 10,
                f"old-{n}",
                f"chan-{n % 3}",
                f"legacy message {n} 消息转发",
                f"sender{n % 4}",
                "telegram" if n % 2 else None,
                "tg-1" if n % 2 else None,
                "failed" if n % 5 == 0 else "success",
                "boom" if n % 5 == 0 else None,
                100 + n,
                f"2025-11-{1 + n % 28:02d} 12:00:00",
            ),
        )
    conn.execute("INSERT INTO failed_messages (message_log_id, retry_count) VALUES (50, 2)")
    if archived_top:
        first = (logs - archived_top + 1) * 10
        conn.execute(
            "INSERT INTO message_logs_archive (id, kook_message_id, kook_channel_id, content, "
            "message_type, sender_name, target_platform, target_channel, status, "
            "error_message, latency_ms, created_at) SELECT id, kook_message_id, "
            "kook_channel_id, content, message_type, sender_name, target_platform, "
            "target_channel, status, error_message, latency_ms, created_at "
            "FROM message_logs WHERE id >= ?",
            (first,),
        )
        conn.execute("DELETE FROM message_logs WHERE id >= ?", (first,))
        conn.execute(
            "INSERT INTO failed_messages (message_log_id, retry_count) VALUES (?, 1)",
            (logs * 10,),
        )
    conn.execute("INSERT INTO bot_configs VALUES (1, 'telegram', '{\"token\": \"t\"}')")
    conn.execute("INSERT INTO channel_mappings VALUES (1, 'chan-1', 'tg-1')")
    conn.execute("INSERT INTO filter_rules VALUES (1, 'no spam')")
    conn.execute("INSERT INTO system_config VALUES ('version', '1.0')")
    conn.commit()
    conn.close()


def make_crashed_wal_db(path: Path, logs: int, pending: int, content_bytes: int = 0) -> None:
    """A WAL-mode file as a crashed older runtime left it: its -wal and -shm next to it,
    the last `pending` logs committed to the -wal only (not checkpointed)."""
    live = path.parent / "live"
    live.mkdir()
    make_legacy_db(live / path.name, logs=logs, wal=True)
    conn = sqlite3.connect(live / path.name)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    for n in range(1, pending + 1):
        conn.execute(
            "INSERT INTO message_logs (kook_message_id, kook_channel_id, content, "
            "target_platform, target_channel, status) VALUES (?, 'chan-1', ?, 'telegram', "
            "'tg-1', 'success')",
            (f"pending-{n}", f"pending message {n} " + "x" * content_bytes),
        )
        conn.commit()
    # Copied while the connection is open: what a crash (or a snapshot) leaves.
    for suffix in ("", "-wal", "-shm"):
        shutil.copyfile(f"{live / path.name}{suffix}", f"{path}{suffix}")
    conn.close()
    shutil.rmtree(live)


def runtime_seal(key: bytes, secret: str) -> str:
    """A secret as the older runtime stored it: a Fernet token under its own key, base64'd."""
    return base64.b64encode(Fernet(key).encrypt(secret.encode())).decode("ascii")


def runtime_open(key: bytes, stored: str) -> str:
    """The older runtime's decrypt: base64-decode, then Fernet with its own key."""
    return Fernet(key).decrypt(base64.b64decode(stored)).decode()


def set_runtime_secrets(
    path: Path, account_id: int, key: bytes, password: str, cookie: str
) -> None:
    """Give a legacy file's account the secrets the older runtime would have written."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE accounts SET password_encrypted = ?, cookie = ? WHERE id = ?",
            (runtime_seal(key, password), runtime_seal(key, cookie), account_id),
        )
    conn.close()


def add_forwarding_setup(path: Path) -> None:
    """The older runtime's forwarding tables as the issue describes them: mappings from
    KOOK channels to targets, each naming a bot config (webhook URL or bot token)."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        DROP TABLE IF EXISTS channel_mappings;
        DROP TABLE IF EXISTS bot_configs;
        CREATE TABLE bot_configs (id INTEGER PRIMARY KEY, platform TEXT, config TEXT);
        CREATE TABLE channel_mappings (id INTEGER PRIMARY KEY, kook_channel_id TEXT,
            target_platform TEXT, target_bot_id INTEGER, target_channel_id TEXT,
            enabled INTEGER DEFAULT 1);
        INSERT INTO bot_configs VALUES
            (1, 'discord', '{"webhook_url": "https://discord.example/api/webhooks/9/legacy-hook"}'),
            (2, 'telegram', '{"token": "777:legacy-telegram-token"}');
        INSERT INTO channel_mappings VALUES
            (1, 'chan-1', 'discord', 1, 'general', 1),
            (2, 'chan-1', 'Telegram', 2, '-1001', 1),
            (3, 'chan-2', 'discord', 1, 'quiet', 0);
        """
    )
    conn.commit()
    conn.close()


def add_filter_rules(path: Path) -> None:
    """The older KOOK forwarder's filter_rules: a rule type, a JSON list of terms, a scope
    ('global' or a channel id), enabled; some msglog applies, some it cannot."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        DROP TABLE IF EXISTS filter_rules;
        CREATE TABLE filter_rules (id INTEGER PRIMARY KEY AUTOINCREMENT, rule_type TEXT,
            rule_value TEXT, scope TEXT DEFAULT 'global', enabled INTEGER DEFAULT 1,
            priority INTEGER DEFAULT 0, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
        INSERT INTO filter_rules (rule_type, rule_value, scope, enabled) VALUES
            ('keyword_blacklist', '["广告", "Spam"]', 'global', 1),
            ('user_whitelist', '["alice", "bob"]', 'chan-1', 1),
            ('regex_blacklist', '["\\d{11}"]', 'global', 1),
            ('keyword_whitelist', '["urgent"]', 'global', 0),
            ('mention_all_only', '[]', 'global', 1);
        """
    )
    conn.commit()
    conn.close()
