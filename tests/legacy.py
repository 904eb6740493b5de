"""A database as the older runtime wrote it, for migration and import tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
CREATE TABLE bot_configs (id INTEGER PRIMARY KEY, platform TEXT, config TEXT);
CREATE TABLE channel_mappings (id INTEGER PRIMARY KEY, kook_channel_id TEXT, target TEXT);
CREATE TABLE filter_rules (id INTEGER PRIMARY KEY, rule TEXT);
CREATE TABLE system_config (key TEXT PRIMARY KEY, value TEXT);
CREATE INDEX idx_logs_created ON message_logs(created_at);
"""


def make_legacy_db(path: Path, logs: int = 50, duplicate_email: bool = False) -> None:
    conn = sqlite3.connect(path)
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
    conn.execute("INSERT INTO bot_configs VALUES (1, 'telegram', '{\"token\": \"t\"}')")
    conn.execute("INSERT INTO channel_mappings VALUES (1, 'chan-1', 'tg-1')")
    conn.execute("INSERT INTO filter_rules VALUES (1, 'no spam')")
    conn.execute("INSERT INTO system_config VALUES ('version', '1.0')")
    conn.commit()
    conn.close()
