"""Command line: `msglog [serve|migrate|...]` (or `python run.py ...`)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

import structlog
from aiohttp import web
from pydantic import ValidationError

from storage import AsyncDatabase, StorageError

from . import eventloop, logs
from .app import create_app
from .cli_accounts import add_commands as add_account_commands
from .cli_ops import add_commands as add_ops_commands
from .cli_routes import add_commands as add_route_commands
from .settings import Settings, describe_errors

Command = Callable[[argparse.Namespace, Settings], int]
SWITCH_INTERVAL_S = 0.0005


def fail(message: str, code: int = 1) -> int:
    print(f"msglog: {message}", file=sys.stderr)
    return code


def describe_os_error(exc: OSError) -> str:
    """The system's reason and the path it concerns, without Python's [Errno N]."""
    reason = exc.strerror or str(exc)
    return f"{exc.filename}: {reason}" if exc.filename is not None else reason


async def _freeze_startup_heap(app: web.Application) -> None:
    """Leave what startup built (modules, schemas, the app) out of every later GC pass.

    It lives as long as the process; a full collection walked it each time (88 ms
    measured), and those pauses were an ingest's slowest answers.
    """
    gc.collect()
    gc.freeze()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.host_is_loopback() and settings.api_token is None:
        return fail(
            f"refusing to listen on non-loopback host {settings.host!r} without "
            "MSGLOG_API_TOKEN: set a token, or bind to 127.0.0.1",
            2,
        )
    logs.configure(settings.log_format, settings.log_level)
    # A warning printed as Python formats it would be a stray line between the log's own.
    logging.captureWarnings(True)
    # The event loop runs Python non-stop under load while the SQLite threads need the
    # GIL back after every statement; CPython's default 5 ms switch interval made them
    # wait in convoys (measured: POST throughput +20 % at 0.5 ms).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    log = structlog.get_logger("msglog")
    loop = eventloop.new_event_loop()
    log.info("starting", host=settings.host, port=settings.port, db=settings.database_label(),
             event_loop=eventloop.name(loop))
    try:
        app = create_app(settings)
        app.on_startup.append(_freeze_startup_heap)  # after the app's resources opened
        web.run_app(
            app,
            loop=loop,
            host=settings.host,
            port=settings.port,
            print=None,
            access_log=None,
            shutdown_timeout=30,
        )
    except StorageError as exc:
        detail = str(exc)
        label = settings.database_label()
        where = "" if label in detail else f" {label}"
        return fail(f"cannot open the database{where}: {detail}")
    except OSError as exc:
        if exc.filename is not None:
            return fail(f"cannot open the database {settings.db_path}: {describe_os_error(exc)}")
        return fail(f"cannot listen on {settings.host}:{settings.port}: {exc}")
    except Exception:
        # In the log's own format (one JSON object with MSGLOG_LOG_FORMAT=json), not as
        # a bare traceback after it.
        log.exception("crashed")
        return 1
    log.info("stopped")
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> None:
        async with AsyncDatabase(settings.database_target()):
            pass

    try:
        asyncio.run(run())
    except StorageError as exc:
        return fail(f"cannot migrate {settings.database_label()}: {exc}")
    print(f"{settings.database_label()}: schema up to date")
    return 0


# Options and the settings they override; given before or after any subcommand.
OPTIONS = {"db_path": "--db", "host": "--host", "port": "--port"}
SERVE_ONLY = ("host", "port")


class Parser(argparse.ArgumentParser):
    """argparse, whose usage errors are one line like every other error of msglog."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _options(*, serve: bool) -> argparse.ArgumentParser:
    """The options every (sub)command takes; --host and --port where serving is meant."""
    # SUPPRESS: a subcommand's parser must not reset what was given before the subcommand.
    parent = Parser(add_help=False, argument_default=argparse.SUPPRESS)
    parent.add_argument("--db", dest="db_path", metavar="PATH",
                        help="database file (default: MSGLOG_DB_PATH)")
    if serve:
        parent.add_argument("--host", help="address to bind (default: MSGLOG_HOST)")
        # A string: Settings checks it, so a bad value is named as the others are.
        parent.add_argument("--port", help="port (default: MSGLOG_PORT)")
    return parent


def build_parser() -> argparse.ArgumentParser:
    common, serving = _options(serve=False), _options(serve=True)
    parser: argparse.ArgumentParser = Parser(
        prog="msglog",
        description="msglog message logger; without a command it serves",
        parents=[serving],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the HTTP service (the default)", parents=[serving])
    serve.set_defaults(func=cmd_serve)
    migrate = sub.add_parser(
        "migrate", help="create or upgrade the schema, then exit", parents=[common]
    )
    migrate.set_defaults(func=cmd_migrate)
    add_account_commands(sub, [common])
    add_route_commands(sub, [common])
    add_ops_commands(sub, [common])
    return parser


def dispatch(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Command = getattr(args, "func", cmd_serve)
    if func is not cmd_serve:
        for field in SERVE_ONLY:
            if hasattr(args, field):
                parser.error(f"{OPTIONS[field]} applies to serve only")
    given = {field: getattr(args, field) for field in OPTIONS if hasattr(args, field)}
    try:
        # Keyword arguments take precedence over MSGLOG_* and .env, and are checked alike.
        settings = Settings(**given)
    except ValidationError as exc:
        named = {field: OPTIONS[field] for field in given}
        return fail(f"invalid settings: {describe_errors(exc, named)}", 2)
    return func(args, settings)


def main(argv: Sequence[str] | None = None) -> int:
    """The `msglog` command; returns the exit status."""
    try:
        return dispatch(argv)
    except OSError as exc:
        # A file a command could not create or open: the path and the reason, no traceback.
        return fail(describe_os_error(exc))
    except KeyboardInterrupt:
        # Ctrl-C at a prompt or during a command: the shell's convention, 128 + SIGINT,
        # and the newline the unanswered prompt did not get.
        print(file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
