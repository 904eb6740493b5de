"""`python run.py accounts ...`: bot accounts for admins on this machine."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from storage import AsyncDatabase, StorageError, accounts
from storage.secretbox import SecretBox

from . import secrets
from .admin_models import AccountCreate
from .app import open_database
from .models import MAX_INT64
from .settings import Settings

# Exit codes: 0 done, 1 failed (unknown id, duplicate, storage, key), 2 usage.
Work = Callable[[AsyncDatabase], Awaitable[int]]
PAGE = 200


class Failure(Exception):
    """Ends the command with a message and an exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int) -> int:
    print(f"msglog: {message}", file=sys.stderr)
    return code


def _run(settings: Settings, work: Work, *, create: bool = False) -> int:
    if not create and not Path(settings.db_path).exists():
        return _fail(f"no database at {settings.db_path}", 1)

    async def main() -> int:
        async with open_database(settings) as db:
            return await work(db)

    try:
        return asyncio.run(main())
    except Failure as exc:
        return _fail(str(exc), exc.code)
    except StorageError as exc:
        return _fail(f"{settings.db_path}: {exc}", 1)


async def _box(settings: Settings, db: AsyncDatabase) -> SecretBox:
    loaded = await secrets.load(settings, db)
    for warning in loaded.warnings:
        print(f"msglog: {warning}", file=sys.stderr)
    if loaded.box is None:
        raise Failure(loaded.problem or "no secret key")
    return loaded.box


def _account_id(value: int) -> int:
    if not 0 < value <= MAX_INT64:
        raise Failure(f"no account with id {value}")
    return value


def _read_secret(what: str, from_stdin: bool, path: str | None = None) -> str | None:
    """A secret from a file, the terminal (no echo) or piped stdin; never from argv."""
    if path is not None:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeError) as exc:
            raise Failure(f"cannot read {what} file {path}: {exc}") from None
    elif not from_stdin:
        return None
    elif sys.stdin.isatty():
        value = getpass.getpass(f"{what.capitalize()}: ")
    else:
        value = sys.stdin.read().rstrip("\r\n")
    if not value:
        raise Failure(f"the {what} is empty", 2)
    return value


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: AsyncDatabase) -> int:
        rows: list[dict[str, Any]] = []
        after: int | None = None
        while True:
            batch = await accounts.page(
                db, status=args.status, email_contains=args.search, after_id=after, limit=PAGE
            )
            rows.extend(batch)
            if len(batch) < PAGE:
                break
            after = batch[-1]["id"]
        table = [["ID", "EMAIL", "STATUS", "LAST ACTIVE", "PASSWORD", "COOKIE"]]
        for r in rows:
            table.append([
                str(r["id"]), r["email"], str(r["status"]), r["last_active"] or "-",
                "yes" if r["has_password"] else "no", "yes" if r["has_cookie"] else "no",
            ])
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        return 0

    return _run(settings, work)


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    if args.password_stdin and args.cookie_stdin:
        return _fail("only one secret can come from stdin; give the cookie with --cookie-file", 2)
    try:
        password = _read_secret("password", args.password_stdin)
        cookie = _read_secret("cookie", args.cookie_stdin, args.cookie_file)
        body = AccountCreate(email=args.email, password=password, cookie=cookie,
                             status=args.status)
    except Failure as exc:
        return _fail(str(exc), exc.code)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        return _fail(f"invalid account: {problems}", 2)

    async def work(db: AsyncDatabase) -> int:
        try:
            new_id = await accounts.create(
                db, await _box(settings, db), body.email,
                password=body.password, cookie=body.cookie, status=body.status,
            )
        except accounts.DuplicateEmail:
            raise Failure(f"an account with email {body.email} already exists") from None
        print(f"added account {new_id} ({body.email})")
        return 0

    return _run(settings, work, create=True)


def cmd_set_status(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: AsyncDatabase) -> int:
        target = _account_id(args.id)
        if not await accounts.update(db, await _box(settings, db), target,
                                     {"status": args.status}):
            raise Failure(f"no account with id {target}")
        print(f"account {target}: status {args.status}")
        return 0

    return _run(settings, work)


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: AsyncDatabase) -> int:
        target = _account_id(args.id)
        if not await accounts.delete(db, target):
            raise Failure(f"no account with id {target}")
        print(f"removed account {target}")
        return 0

    return _run(settings, work)


def cmd_encrypt(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: AsyncDatabase) -> int:
        report = await accounts.encrypt_all(db, await _box(settings, db))
        # Unsealed values (the older runtime's own tokens, say) are sealed as they are:
        # the runtime gets them back unchanged and decrypts them with its own key.
        print(
            f"encrypted {report.sealed} secret(s) stored without our key (values unchanged), "
            f"re-encrypted {report.rotated} under the current key, "
            f"{report.unchanged} already encrypted"
        )
        if not report.wal_truncated:
            print("msglog: the WAL could not be truncated now (a reader was busy); old "
                  "pages leave it at the next checkpoint", file=sys.stderr)
        if report.sealed and report.free_pages:
            print(f"msglog: {report.free_pages} free page(s) of the file were not zeroed and "
                  "may hold old unencrypted secrets: stop the service and run "
                  f"`sqlite3 {settings.db_path} VACUUM` to clear them", file=sys.stderr)
        return 0

    return _run(settings, work)


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Register `accounts` and its subcommands; `parents` hold the options every one takes."""
    parser = sub.add_parser(
        "accounts", help="manage bot accounts (secrets stay encrypted)", parents=parents
    )
    commands = parser.add_subparsers(dest="accounts_command", metavar="COMMAND", required=True)
    statuses = list(accounts.STATUSES)

    p = commands.add_parser(
        "list", parents=parents, help="table of accounts (never shows secrets)"
    )
    p.add_argument("--status", choices=statuses, help="only accounts with this status")
    p.add_argument("--search", help="only emails containing this text")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser(
        "add", parents=parents, help="add an account; secrets come from stdin or a file"
    )
    p.add_argument("email")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin (prompted, unechoed, on a terminal)")
    cookie = p.add_mutually_exclusive_group()
    cookie.add_argument("--cookie-stdin", action="store_true",
                        help="read the session cookie from stdin (prompted on a terminal)")
    cookie.add_argument("--cookie-file", metavar="PATH", help="read the session cookie from PATH")
    p.add_argument("--status", choices=statuses, default="offline")
    p.set_defaults(func=cmd_add)

    p = commands.add_parser("set-status", parents=parents, help="change an account's status")
    p.add_argument("id", type=int)
    p.add_argument("status", choices=statuses)
    p.set_defaults(func=cmd_set_status)

    p = commands.add_parser("remove", parents=parents, help="delete an account and its secrets")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_remove)

    p = commands.add_parser(
        "encrypt",
        parents=parents,
        help="encrypt secrets the older runtime stored unencrypted (and rotate keys)",
    )
    p.set_defaults(func=cmd_encrypt)
