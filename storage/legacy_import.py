"""Import logs and accounts from an older runtime's SQLite file, through the writer.

Idempotent: logs are keyed by (kook_message_id, target_platform, target_channel), the
older runtime's NULL targets becoming '' as in ours; accounts by email (any case). A row
whose key is already here is skipped, so a second run adds nothing. Nothing is written
next to the source file (see source_file). Account times the older runtime wrote in local
wall-clock time (last_active) are read in the zone they were written in.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from . import forward_filters, forward_routes
from .interfaces import Store
from .legacy import filters as legacy_filters
from .legacy import routes as legacy_routes
from .legacy import zone as legacy_time
from .legacy.columns import LOG_COLUMNS, account_values, log_values
from .secretbox import SecretBox
from .source_file import SourceFile, SourceFileError

CHUNK = 500
# (rows done, rows in total) after each chunk.
Progress = Callable[[int, int], None]

# First with the source's own ids (a row whose id or message is taken is skipped), then
# the rows skipped for their id alone with new ids: nothing is dropped as a duplicate it
# is not, and in an empty database every id stays what it was.
_LOG_KEPT_HEAD = f"INSERT INTO message_logs (id, {', '.join(LOG_COLUMNS)}) VALUES "
_LOG_KEPT_ROW = "(" + ", ".join(["?"] * (len(LOG_COLUMNS) + 1)) + ")"
_LOG_NEW_HEAD = f"INSERT INTO message_logs ({', '.join(LOG_COLUMNS)}) VALUES "
_LOG_NEW_ROW = "(" + ", ".join(["?"] * len(LOG_COLUMNS)) + ")"
_LOG_ANY_CONFLICT = " ON CONFLICT DO NOTHING RETURNING id"
_LOG_KEY_CONFLICT = (
    " ON CONFLICT (kook_message_id, target_platform, target_channel) DO NOTHING RETURNING id"
)
_LOG_INTEGERS = {"latency_ms", "attempts", "created_at", "updated_at"}


def _account_insert(db: Store, with_id: bool) -> str:
    taken_id = " AND NOT EXISTS (SELECT 1 FROM accounts WHERE id = ?)" if with_id else ""
    return (
        f"INSERT INTO accounts ({'id, ' if with_id else ''}email, password_encrypted, "
        f"cookie, status, last_active, created_at) SELECT {'?, ' if with_id else ''}"
        "?, ?, ?, ?, ?, ? WHERE NOT EXISTS "
        f"(SELECT 1 FROM accounts WHERE {db.dialect.equals_caseless('email')}){taken_id} "
        "RETURNING id"
    )


def _typed(columns: tuple[str, ...], row: tuple[Any, ...]) -> tuple[Any, ...]:
    """The older runtime's loosely typed values as msglog's columns hold them (a server
    engine refuses 123 for a text column, where SQLite stored it as '123')."""
    out: list[Any] = []
    for name, value in zip(columns, row, strict=True):
        if value is None:
            out.append(None)
        elif name in _LOG_INTEGERS:
            out.append(value if isinstance(value, int) else round(float(value)))
        else:
            out.append(value if isinstance(value, str) else str(value))
    return tuple(out)


class ImportSourceError(SourceFileError):
    """The file to import from is missing, unreadable or not an older runtime's database."""


@dataclass(slots=True)
class ImportReport:
    logs_imported: int = 0
    logs_skipped: int = 0
    accounts_imported: int = 0
    accounts_skipped: int = 0
    # Imported accounts whose secrets are still as the older runtime stored them.
    accounts_with_legacy_secrets: int = 0
    # How the source was read without writing next to it (see source_file.SourceFile).
    source_read: str = ""
    # Its channel_mappings as forward routes (URLs sealed with the database's key).
    # Rows whose id was taken in the target: imported under a new id.
    logs_renumbered: int = 0
    accounts_renumbered: int = 0
    routes_imported: int = 0
    routes_skipped: int = 0
    # Its filter_rules, every one kept as a forward filter (a second run skips them),
    # each described with what msglog makes of it: applied, or why not.
    filters_imported: int = 0
    filters_skipped: int = 0
    filters_applied: list[str] = field(default_factory=list)
    filters_not_applied: list[str] = field(default_factory=list)


class _Source:
    """The older file, read-only, read in keyset chunks on a worker thread."""

    def __init__(self, path: Path, scratch: Path, zone: tzinfo | None) -> None:
        if not path.is_file():
            raise ImportSourceError(f"no database at {path}")
        try:
            self.file = SourceFile(path, scratch)
        except SourceFileError as exc:
            raise ImportSourceError(str(exc)) from exc
        self.conn = self.file.conn
        legacy_time.register(self.conn, zone)
        tables = {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )}
        self.logs = self._columns("message_logs") if "message_logs" in tables else set()
        self.accounts = self._columns("accounts") if "accounts" in tables else set()
        if not {"kook_message_id", "kook_channel_id"} <= self.logs and "email" not in self.accounts:
            self.file.close()
            raise ImportSourceError(
                f"{path} has no message_logs or accounts table of the older runtime"
            )

    def _columns(self, table: str) -> set[str]:
        return {r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")}

    def count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def log_select(self) -> str:
        # The mapping the in-place migration uses too, in _LOG_INSERT_HEAD's column order.
        return (f"SELECT rowid, {log_values(self.logs)} "
                "FROM message_logs WHERE rowid > ? ORDER BY rowid LIMIT ?")

    def account_select(self) -> str:
        return (f"SELECT rowid, {account_values(self.accounts)} "
                "FROM accounts WHERE rowid > ? ORDER BY rowid LIMIT ?")

    def chunk(self, sql: str, after: int) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, (after, CHUNK)).fetchall()


async def import_file(
    db: Store,
    path: Path,
    progress: Progress | None = None,
    *,
    source_timezone: tzinfo | None = None,
) -> ImportReport:
    """Copy the older file's logs and accounts into `db`; rows already here are skipped.

    `source_timezone`: where the older runtime wrote its wall-clock times (None: local).
    A private copy of the source, when one is needed, goes next to `db`'s file.
    """
    path = Path(path)
    if path.resolve() == db.path.resolve():
        raise ImportSourceError("cannot import a database into itself")
    # A private copy of the source, when one is needed, goes beside the database's file
    # (on a server engine, in the temporary folder).
    scratch = db.path.parent if db.path.parent.is_dir() else Path(tempfile.gettempdir())
    source = await asyncio.to_thread(_Source, path, scratch, source_timezone)
    report = ImportReport(source_read=source.file.how)
    try:
        total = 0
        if source.logs:
            total += await asyncio.to_thread(source.count, "message_logs")
        if source.accounts:
            total += await asyncio.to_thread(source.count, "accounts")
        done = 0

        def advance(rows: int) -> None:
            nonlocal done
            done += rows
            if progress is not None:
                progress(done, total)

        if progress is not None:
            progress(0, total)
        if source.logs:
            await _import_logs(db, source, report, advance)
        if source.accounts:
            await _import_accounts(db, source, report, advance)
        await _import_routes(db, source, report)
        await _import_filters(db, source, report)
        if not source.file.unchanged():
            raise ImportSourceError(
                f"{path} changed during the import: a program is still writing it; stop it "
                "(the older runtime) and run the import again (rows already imported are "
                "skipped)"
            )
    finally:
        source.file.close()
    return report


async def _import_logs(
    db: Store, source: _Source, report: ImportReport, advance: Callable[[int], None]
) -> None:
    sql = source.log_select()
    after = 0
    while rows := await asyncio.to_thread(source.chunk, sql, after):
        after = rows[-1][0]
        valid = [(int(r[0]), _typed(LOG_COLUMNS, r[1:])) for r in rows if r[1] is not None]
        inserted = 0
        if valid:
            floor = db.dialect.identity_floor("message_logs")
            if floor is not None:
                # New ids handed out meanwhile go above the ones kept here.
                await db.execute_write(floor, (max(i for i, _ in valid),))
            kept = await db.execute_write(
                _LOG_KEPT_HEAD + ",".join([_LOG_KEPT_ROW] * len(valid)) + _LOG_ANY_CONFLICT,
                [v for rid, row in valid for v in (rid, *row)],
            )
            kept_ids = {int(r[0]) for r in kept.rows or ()}
            rest = [row for rid, row in valid if rid not in kept_ids]
            inserted = len(kept_ids)
            if rest:
                moved = await db.execute_write(
                    _LOG_NEW_HEAD + ",".join([_LOG_NEW_ROW] * len(rest)) + _LOG_KEY_CONFLICT,
                    [v for row in rest for v in row],
                )
                report.logs_renumbered += len(moved.rows or ())
                inserted += len(moved.rows or ())
        report.logs_imported += inserted
        report.logs_skipped += len(rows) - inserted
        advance(len(rows))


async def _import_accounts(
    db: Store, source: _Source, report: ImportReport, advance: Callable[[int], None]
) -> None:
    sql = source.account_select()
    after = 0
    with_id, new_id = _account_insert(db, True), _account_insert(db, False)
    floor = db.dialect.identity_floor("accounts")
    while rows := await asyncio.to_thread(source.chunk, sql, after):
        after = rows[-1][0]
        valid = [(int(r[0]), tuple(r[1:])) for r in rows if r[1]]
        if valid and floor is not None:
            await db.execute_write(floor, (max(i for i, _ in valid),))
        imported = 0
        for rid, row in valid:
            result = await db.execute_write(with_id, (rid, *row, row[0], rid))
            if not result.rows:
                result = await db.execute_write(new_id, (*row, row[0]))
                report.accounts_renumbered += bool(result.rows)
            if result.rows:
                imported += 1
                if SecretBox.is_legacy(row[1]) or SecretBox.is_legacy(row[2]):
                    report.accounts_with_legacy_secrets += 1
        report.accounts_imported += imported
        report.accounts_skipped += len(rows) - imported
        advance(len(rows))


async def _import_routes(db: Store, source: _Source, report: ImportReport) -> None:
    select = await asyncio.to_thread(legacy_routes.mapping_select, source.conn)
    if select is None:
        return
    rows = await asyncio.to_thread(lambda: source.conn.execute(select).fetchall())
    for channel, platform, target, url, enabled in rows:
        try:
            await forward_routes.add(
                db, forward_routes.NewRoute("kook", channel, platform, target, url, bool(enabled))
            )
        except forward_routes.DuplicateRoute:
            report.routes_skipped += 1
        else:
            report.routes_imported += 1


async def _import_filters(db: Store, source: _Source, report: ImportReport) -> None:
    rows = await asyncio.to_thread(legacy_filters.legacy_rows, source.conn)
    for row in rows:
        rule = legacy_filters.interpret(row)
        if await forward_filters.add(db, rule, "import"):
            report.filters_imported += 1
        else:
            report.filters_skipped += 1
        (report.filters_applied if rule.applies else report.filters_not_applied).append(
            rule.describe()
        )
