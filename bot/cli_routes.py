"""`python run.py routes ...`: forward routes on this machine (the URL never on argv)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from pydantic import ValidationError

from storage import AsyncDatabase, forward_routes
from storage.forward_routes import DuplicateRoute, NewRoute

from .cli_accounts import Failure, _box, _fail, _read_secret, _run
from .platforms import SOURCES, TARGETS
from .platforms.base import redact_url
from .routes.admin_routes import RouteCreate
from .settings import Settings


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        url = _read_secret("target URL", args.url_stdin, args.url_file)
        body = RouteCreate(
            source_platform=args.source_platform, source_channel=args.source_channel,
            target_platform=args.target_platform, target_channel=args.target_channel,
            target_url=url.strip() if url else None, enabled=not args.disabled,
        )
    except Failure as exc:
        return _fail(str(exc), exc.code)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'route'}: {e['msg']}"
                             for e in exc.errors())
        return _fail(f"invalid route: {problems}", 2)

    async def work(db: AsyncDatabase) -> int:
        if body.target_url:
            db.secret_box = await _box(settings, db)
        try:
            rid = await forward_routes.add(db, NewRoute(
                body.source_platform, body.source_channel, body.target_platform,
                body.target_channel, body.target_url, body.enabled,
            ))
        except DuplicateRoute:
            raise Failure("a route from this source channel to this target exists") from None
        print(f"added route {rid}")
        return 0

    return _run(settings, work, create=True)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: AsyncDatabase) -> int:
        db.secret_box = await _box(settings, db)
        table = [["ID", "SOURCE", "CHANNEL", "TARGET", "TARGET CHANNEL", "URL", "ENABLED"]]
        for r in await forward_routes.list_all(db):
            url = redact_url(forward_routes.open_url(db, r)) or "-"
            table.append([str(r["id"]), r["source_platform"], r["source_channel"],
                          r["target_platform"], r["target_channel"], url,
                          "yes" if r["enabled"] else "no"])
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        return 0

    return _run(settings, work)


def _toggle(enabled: bool) -> Callable[[argparse.Namespace, Settings], int]:
    def cmd(args: argparse.Namespace, settings: Settings) -> int:
        async def work(db: AsyncDatabase) -> int:
            if not await forward_routes.set_enabled(db, args.id, enabled):
                raise Failure(f"no route {args.id}")
            print(f"route {args.id} {'enabled' if enabled else 'disabled'}")
            return 0

        return _run(settings, work)

    return cmd


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: AsyncDatabase) -> int:
        if not await forward_routes.remove(db, args.id):
            raise Failure(f"no route {args.id}")
        print(f"removed route {args.id} (its queued deliveries end as dead)")
        return 0

    return _run(settings, work)


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Register `routes` and its subcommands."""
    parser = sub.add_parser("routes", help="manage forward routes", parents=parents)
    commands = parser.add_subparsers(dest="routes_command", metavar="COMMAND", required=True)
    p = commands.add_parser("add", parents=parents,
                            help="add a route; a webhook URL comes from stdin or a file")
    p.add_argument("source_platform", choices=SOURCES)
    p.add_argument("source_channel")
    p.add_argument("target_platform", choices=TARGETS)
    p.add_argument("target_channel")
    url = p.add_mutually_exclusive_group()
    url.add_argument("--url-stdin", action="store_true",
                     help="read the target webhook URL from stdin (a secret)")
    url.add_argument("--url-file", metavar="PATH", help="read the target webhook URL from PATH")
    p.add_argument("--disabled", action="store_true", help="add it disabled")
    p.set_defaults(func=cmd_add)
    p = commands.add_parser("list", parents=parents, help="table of routes (URLs redacted)")
    p.set_defaults(func=cmd_list)
    for name, enabled in (("enable", True), ("disable", False)):
        p = commands.add_parser(name, parents=parents, help=f"{name} a route")
        p.add_argument("id", type=int)
        p.set_defaults(func=_toggle(enabled))
    p = commands.add_parser("remove", parents=parents, help="delete a route")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_remove)
