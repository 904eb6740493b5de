"""`python run.py backup PATH` and `python run.py import OLD.db`: operations on the file."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import tzinfo
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from storage import StorageError
from storage.legacy.zone import describe
from storage.legacy_import import ImportReport, import_file
from storage.sqlite.backup import PAGES_PER_STEP, backup

from .app import open_database
from .settings import Settings


def _fail(message: str, code: int = 1) -> int:
    print(f"msglog: {message}", file=sys.stderr)
    return code


class ProgressBar:
    """A progress bar on stderr when it is a terminal; silent otherwise (logs, pipes)."""

    def __init__(self, description: str, unit: str) -> None:
        self._bar: Progress | None = None
        if sys.stderr.isatty():
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn(unit),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._task = self._bar.add_task(description, total=None)

    def __enter__(self) -> ProgressBar:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def update(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total)


def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    if settings.database_url is not None:
        return _fail(
            "backup copies the SQLite file; on PostgreSQL (MSGLOG_DATABASE_URL) back up with "
            f"the server's own tools, e.g. pg_dump {settings.database_label()}", 2)
    target = Path(args.path)
    try:
        with ProgressBar("backup", "pages") as bar:
            report = asyncio.run(backup(
                settings.db_path,
                target,
                pages_per_step=args.pages_per_step,
                progress=bar.update,
                overwrite=args.force,
            ))
    except StorageError as exc:
        return _fail(str(exc))
    logs = "" if report.message_logs is None else f", {report.message_logs} message logs"
    print(
        f"backup of {settings.db_path} written to {report.path}: {report.pages} pages "
        f"({report.bytes / 1e6:.1f} MB){logs}, integrity ok, {report.seconds:.1f} s"
    )
    return 0


def _summary(source: Path, target: str, report: ImportReport, zone: tzinfo | None) -> str:
    lines = [
        f"imported from {source} into {target}:",
        f"  message logs: {report.logs_imported} imported ({report.logs_renumbered} under a "
        f"new id: theirs was taken), {report.logs_skipped} skipped (already present)",
        f"  accounts:     {report.accounts_imported} imported ({report.accounts_renumbered} "
        f"under a new id), {report.accounts_skipped} skipped (email already present)",
        f"  times:        last_active read as wall-clock time in {describe(zone)}, "
        "created_at as UTC",
        f"  routes:       {report.routes_imported} imported, {report.routes_skipped} skipped "
        "(already present), from its channel_mappings",
        f"  filters:      {report.filters_imported} imported, {report.filters_skipped} "
        f"skipped (already present): {len(report.filters_applied)} applied, "
        f"{len(report.filters_not_applied)} not applied (kept; GET /api/admin/filters)",
        *(f"    {rule}" for rule in report.filters_applied + report.filters_not_applied),
        f"  read through {report.source_read}: nothing was written next to it",
    ]
    if report.accounts_with_legacy_secrets:
        lines.append(
            f"  {report.accounts_with_legacy_secrets} imported account(s) keep secrets in the "
            "older runtime's form: run `python run.py accounts encrypt` to seal them"
        )
    return "\n".join(lines)


def _zone(name: str | None) -> tzinfo | None:
    """The IANA zone named on the command line; None is this machine's zone."""
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Asia/Shanghai)") from exc


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    source = Path(args.path)
    try:
        zone = _zone(args.source_timezone)
    except ValueError as exc:
        return _fail(str(exc), 2)

    async def run() -> ImportReport:
        async with open_database(settings) as db:
            with ProgressBar("import", "rows") as bar:
                return await import_file(
                    db, source, progress=bar.update, source_timezone=zone
                )

    try:
        report = asyncio.run(run())
    except StorageError as exc:
        return _fail(f"import failed: {exc}")
    print(_summary(source, settings.database_label(), report, zone))
    return 0


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Register `backup` and `import`; `parents` hold the options every command takes."""
    p = sub.add_parser(
        "backup",
        parents=parents,
        help="consistent online copy of the database (safe while the service runs)",
        description="Copy the database to PATH while the service keeps writing; the copy "
        "is a snapshot of the moment the backup started and is checked with "
        "PRAGMA integrity_check before it is kept.",
    )
    p.add_argument("path", help="where to write the copy (must not exist, see --force)")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.add_argument(
        "--pages-per-step", type=int, default=PAGES_PER_STEP, metavar="N",
        help=f"pages copied per step (default {PAGES_PER_STEP})",
    )
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser(
        "import",
        parents=parents,
        help="copy logs, accounts, routes and filter rules from an older runtime's "
        "database (idempotent)",
        description="Copy message logs and accounts from OLD.db, a database of the older "
        "runtime, into the configured database. Rows already present are skipped, so "
        "running it again adds nothing. Nothing is written next to OLD.db (read-only "
        "storage is fine). Safe while the service runs.",
    )
    p.add_argument("path", metavar="OLD.db", help="the older runtime's SQLite file")
    p.add_argument(
        "--source-timezone", metavar="ZONE",
        help="IANA zone the older runtime ran in: its accounts' last_active is local "
        "wall-clock time (default: this machine's zone)",
    )
    p.set_defaults(func=cmd_import)
