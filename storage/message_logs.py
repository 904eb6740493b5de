"""Message log queries: the forwarding runtime's writes and the dashboard's reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .interfaces import BulkUpsert, Dialect, Store
from .timeutil import now_ms

COLUMN_NAMES = (
    "id", "kook_message_id", "kook_channel_id", "content", "message_type", "sender_name",
    "target_platform", "target_channel", "status", "error_message", "latency_ms", "attempts",
    "created_at", "updated_at",
)
COLUMNS = ", ".join(COLUMN_NAMES)
TIME_COLUMNS = {"created_at", "updated_at"}
STATUSES = ("pending", "success", "failed", "received", "dead")

_HEAD = (
    "INSERT INTO message_logs (kook_message_id, target_platform, target_channel, "
    "kook_channel_id, content, message_type, sender_name, status, error_message, "
    "latency_ms, created_at, updated_at{extra}) VALUES "
)
_CONFLICT = (
    "ON CONFLICT (kook_message_id, target_platform, target_channel) DO UPDATE SET "
    "kook_channel_id = excluded.kook_channel_id, "
    "content = coalesce(excluded.content, message_logs.content), "
    "message_type = coalesce(excluded.message_type, message_logs.message_type), "
    "sender_name = coalesce(excluded.sender_name, message_logs.sender_name), "
    "status = excluded.status, error_message = excluded.error_message, "
    "latency_ms = excluded.latency_ms, attempts = message_logs.attempts + 1, "
    "updated_at = excluded.updated_at"
)
_KEY = ("kook_message_id", "target_platform", "target_channel")
# Key columns first: the writer finds each caller's row id by them after a merged insert.
# The twelve columns of the older runtime's call (bench/common.py builds plain inserts
# from this row).
UPSERT = BulkUpsert(
    head=_HEAD.format(extra=""),
    row="(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    conflict=_CONFLICT,
    table="message_logs",
    key_columns=_KEY,
    spawns=(7, "received"),  # a received row queues its deliveries (schema.FORWARD_TRIGGERS)
)
# What log() writes: the same and the source platform (a row logged again keeps its own
# when none is given).
LOG_UPSERT = BulkUpsert(
    head=_HEAD.format(extra=", source_platform"),
    row="(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    conflict=_CONFLICT + ", source_platform = "
    "coalesce(excluded.source_platform, message_logs.source_platform)",
    table="message_logs",
    key_columns=_KEY,
    spawns=(7, "received"),
)


def _text(value: Any) -> str | None:
    # Most values are text already: no str() call for them (five per ingest).
    return value if value is None or type(value) is str else str(value)


def source_of(message_id: str | None, status: str, given: str | None) -> str | None:
    """A row's source platform: as given, else for a received row what the queueing
    trigger derives (schema.SOURCE_OF_NEW: 'tg:' ids are Telegram's, the rest KOOK's)."""
    if given is not None or status != "received":
        return given
    return "telegram" if (message_id or "").startswith("tg:") else "kook"


async def log(
    db: Store,
    kook_message_id: Any,
    kook_channel_id: Any,
    content: str | None,
    message_type: Any,
    sender_name: str | None,
    target_platform: str | None,
    target_channel: Any,
    status: str,
    error_message: str | None = None,
    latency_ms: int | None = None,
    *,
    source_platform: str | None = None,
) -> int:
    """Insert or update the row of (message, target); return its id."""
    now = now_ms()
    message_id = _text(kook_message_id)
    params = (
        message_id,
        (_text(target_platform) or "").lower(),
        _text(target_channel) or "",
        _text(kook_channel_id),
        content,
        _text(message_type),
        sender_name,
        status,
        error_message,
        latency_ms,
        now,
        now,
        source_of(message_id, status, source_platform),
    )
    result = await db.submit_bulk(LOG_UPSERT, params)
    assert result.lastrowid is not None
    db.notify_changed([result.lastrowid])
    return result.lastrowid


async def update(db: Store, log_id: int, fields: dict[str, Any]) -> bool:
    """Record a retry outcome: the given fields, attempts + 1, updated_at now."""
    allowed = {"status", "error_message", "latency_ms"}
    if fields.get("status") == "success" and "error_message" not in fields:
        # A retry that succeeded no longer shows the failure it recovered from.
        fields = {**fields, "error_message": None}
    sets = [f"{name} = ?" for name in fields if name in allowed]
    params = [fields[name] for name in fields if name in allowed]
    sql = (
        f"UPDATE message_logs SET {', '.join([*sets, 'attempts = attempts + 1', 'updated_at = ?'])}"
        " WHERE id = ?"
    )
    result = await db.execute_write(sql, (*params, now_ms(), log_id))
    if result.rowcount:
        db.notify_changed([log_id])
    return result.rowcount > 0


@dataclass(frozen=True, slots=True)
class LogFilter:
    status: str | None = None
    platform: str | None = None
    channel: str | None = None
    sender: str | None = None
    q: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def where(
        self, dialect: Dialect, search_candidates: int | None = None
    ) -> tuple[list[str], list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value, caseless in (
            ("status", self.status, False),
            ("target_platform", self.platform, True),
            ("kook_channel_id", self.channel, False),
            ("sender_name", self.sender, True),
        ):
            if value is not None:
                clauses.append(
                    dialect.equals_caseless(f"m.{column}") if caseless else f"m.{column} = ?"
                )
                params.append(value)
        if self.since_ms is not None:
            clauses.append("m.created_at >= ?")
            params.append(self.since_ms)
        if self.until_ms is not None:
            clauses.append("m.created_at < ?")
            params.append(self.until_ms)
        if self.q:
            clause, search_params = dialect.text_search("m", self.q, search_candidates)
            clauses.append(clause)
            params.extend(search_params)
        return clauses, params


# A first try at a full-text page looks only at this many of the newest matches.
SEARCH_CANDIDATES = 2000


async def page(
    db: Store, filt: LogFilter, limit: int = 50, before_id: int | None = None
) -> tuple[list[dict[str, Any]], int | None]:
    """One page newest first, and the keyset cursor of the next one (None at the end)."""
    keyset: list[str] = []
    keyset_params: list[Any] = []
    if before_id is not None:
        # The cursor row, or when it is gone (retention, a made-up number) the nearest
        # row below it: found through the primary key, never by walking an index.
        cursor = await db.execute_one(
            "SELECT id, created_at FROM message_logs WHERE id <= ? ORDER BY id DESC LIMIT 1",
            (before_id,),
        )
        if cursor is None:
            return [], None
        # created_at <= ? bounds the index range; the OR only breaks ties.
        tie = "m.id < ?" if cursor["id"] == before_id else "m.id <= ?"
        keyset.append(f"m.created_at <= ? AND (m.created_at < ? OR {tie})")
        keyset_params.extend([cursor["created_at"], cursor["created_at"], cursor["id"]])

    async def run(candidates: int | None) -> list[dict[str, Any]]:
        clauses, params = filt.where(db.dialect, candidates)
        clauses += keyset
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return await _fetch(
            db,
            f"SELECT {_prefixed('m')} FROM message_logs AS m {where} "
            "ORDER BY m.created_at DESC, m.id DESC LIMIT ?",
            [*params, *keyset_params, limit + 1],
        )

    searching = bool(filt.q) and db.dialect.uses_fts(filt.q or "")
    rows = await run(SEARCH_CANDIDATES if searching else None)
    if searching and (
        len(rows) <= limit or not await _candidates_hold_the_page(db, filt.q or "", rows[-1])
    ):
        # The newest matches did not fill the page, or rows outside them may be newer:
        # older ones may still qualify.
        rows = await run(None)
    rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    more = len(rows) > limit
    rows = rows[:limit]
    next_id = rows[-1]["id"] if more and rows else None
    return rows, next_id


async def _candidates_hold_the_page(db: Store, q: str, last: dict[str, Any]) -> bool:
    """Whether no match outside the candidates can sort before the page's last row.

    The candidates are the newest matches by row id, and ids rise with created_at except
    for rows written with an older time (an import gives old rows new ids): then a row
    below the candidates may still be newer than the page, and only the full path is
    right. The check reads the created_at index only above the page's last row.
    """
    sql, params = db.dialect.fts_candidates(q, SEARCH_CANDIDATES)
    found = await db.execute_one(sql, params)
    if found is None or found["n"] < SEARCH_CANDIDATES:
        return True  # every indexed match is a candidate
    later = await db.execute_one(
        "SELECT EXISTS (SELECT 1 FROM message_logs WHERE id < ? AND created_at > "
        "(SELECT created_at FROM message_logs WHERE id = ?)) AS newer",
        (found["lowest"], last["id"]),
    )
    return later is not None and not later["newer"]


async def _fetch(db: Store, inner_sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows of `inner_sql` (selecting COLUMN_NAMES) as presented dicts, in one step."""
    # Dashboards polling the same page at once share one run of it.
    return await db.read_shown(inner_sql, params, COLUMN_NAMES, TIME_COLUMNS)


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{c}" for c in COLUMN_NAMES)


async def get(db: Store, log_id: int) -> dict[str, Any] | None:
    rows = await _fetch(db, f"SELECT {COLUMNS} FROM message_logs WHERE id = ?", [log_id])
    return rows[0] if rows else None


async def by_ids(db: Store, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = await _fetch(db, f"SELECT {COLUMNS} FROM message_logs WHERE id IN ({marks})", ids)
    rows.sort(key=lambda r: int(r["id"]))
    return rows


@dataclass(frozen=True, slots=True)
class ChangeLog:
    """The change numbers still held: `oldest` is None while nothing has changed."""

    oldest: int | None
    latest: int


async def change_log(db: Store) -> ChangeLog:
    # Two subqueries: each is one b-tree descent (min and max in one SELECT scan it all).
    row = await db.execute_one(
        "SELECT (SELECT min(seq) FROM log_changes) AS oldest, "
        "(SELECT max(seq) FROM log_changes) AS latest"
    )
    if row is None or row["latest"] is None:
        # Trimmed empty or never used: the identity still knows the last number.
        mark = await db.execute_one(db.dialect.sequence_mark("log_changes"))
        return ChangeLog(None, int(mark["seq"]) if mark else 0)
    return ChangeLog(int(row["oldest"]), int(row["latest"]))


async def changes_after(
    db: Store, after_seq: int, limit: int, up_to: int | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """(change number, row as it is now) for changes after `after_seq`, oldest first.

    A row changed twice comes twice; a row deleted since its change does not come.
    """
    bound = "" if up_to is None else " AND c.seq <= ?"
    params: list[Any] = [after_seq] if up_to is None else [after_seq, up_to]
    rows = await _fetch_with_seq(
        db,
        f"SELECT c.seq AS seq, {_prefixed('m')} FROM log_changes AS c "
        f"JOIN message_logs AS m ON m.id = c.log_id WHERE c.seq > ?{bound} "
        "ORDER BY c.seq LIMIT ?",
        [*params, limit],
    )
    return [(int(row.pop("seq")), row) for row in rows]


async def _fetch_with_seq(
    db: Store, inner_sql: str, params: list[Any]
) -> list[dict[str, Any]]:
    # Never shared between callers: each pops the seq it was handed.
    return await db.read_shown(
        inner_sql, params, ("seq", *COLUMN_NAMES), TIME_COLUMNS, shared=False
    )


async def iterate(
    db: Store, filt: LogFilter, chunk: int = 1000
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every matching row, newest first, in keyset chunks (constant memory)."""
    before: int | None = None
    while True:
        rows, before = await page(db, filt, chunk, before)
        if rows:
            yield rows
        if before is None:
            return


async def legacy_page(
    db: Store, limit: int, offset: int, status: str | None, platform: str | None
) -> list[dict[str, Any]]:
    """The older runtime's call: offset paging, newest first."""
    clauses, params = LogFilter(status=status, platform=platform).where(db.dialect)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await _fetch(
        db,
        f"SELECT {_prefixed('m')} FROM message_logs AS m {where} "
        "ORDER BY m.created_at DESC, m.id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    rows.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return rows
