"""The older runtime's forwarding set-up as routes: channel_mappings joined with bot_configs.

Its mappings (kook_channel_id, target_platform, target_bot_id, target_channel_id,
enabled) name a bot config (platform, config JSON holding the webhook URL or the bot
token). Discord and Feishu targets keep their webhook URL (in the clear here, where no
key is at hand: the service seals it at its next start); Telegram and KOOK targets send
as msglog's own bot. A file without those tables or columns has nothing to carry over.
"""

from __future__ import annotations

import sqlite3

MAPPING_COLUMNS = {"kook_channel_id", "target_platform", "target_channel_id"}
URL_OF_CONFIG = (
    "CASE WHEN json_valid(b.config) THEN coalesce(json_extract(b.config, '$.webhook_url'), "
    "json_extract(b.config, '$.webhook'), json_extract(b.config, '$.url')) END"
)


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})").fetchall()}


def mapping_select(conn: sqlite3.Connection) -> str | None:
    """SELECT (source_channel, target_platform, target_channel, target_url, enabled) over
    the older runtime's mappings in `conn`; None when the file has none to carry over."""
    mapping = _columns(conn, "channel_mappings")
    if not MAPPING_COLUMNS <= mapping:
        return None
    has_configs = {"id", "config"} <= _columns(conn, "bot_configs")
    url = URL_OF_CONFIG if has_configs and "target_bot_id" in mapping else "NULL"
    join = "LEFT JOIN bot_configs AS b ON b.id = m.target_bot_id" if url != "NULL" else ""
    enabled = "coalesce(m.enabled, 1) != 0" if "enabled" in mapping else "1"
    return (
        "SELECT CAST(m.kook_channel_id AS TEXT), lower(m.target_platform), "
        "CAST(m.target_channel_id AS TEXT), CASE WHEN lower(m.target_platform) IN "
        f"('discord', 'feishu') THEN {url} END, {enabled} "
        f"FROM channel_mappings AS m {join} "
        "WHERE m.kook_channel_id IS NOT NULL AND m.target_platform IS NOT NULL "
        "AND lower(m.target_platform) IN ('discord', 'telegram', 'feishu', 'kook') "
        "AND m.target_channel_id IS NOT NULL ORDER BY m.id"
    )


def migrate(conn: sqlite3.Connection) -> int:
    """Routes for the older runtime's mappings (once: a route already there is kept)."""
    select = mapping_select(conn)
    if select is None:
        return 0
    cur = conn.execute(
        "INSERT OR IGNORE INTO forward_routes (source_platform, source_channel, "
        "target_platform, target_channel, target_url, enabled) "
        f"SELECT 'kook', * FROM ({select})"
    )
    return cur.rowcount
