"""A throwaway PostgreSQL (scripts/pg.sh) for tests and benches, and fresh databases on it."""

from __future__ import annotations

import itertools
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parent.parent
PG_SH = REPO / "scripts" / "pg.sh"
START_TIMEOUT_S = 60.0
_names = itertools.count(1)


@dataclass(frozen=True)
class PgServer:
    """Where a running throwaway server is: URL of its `msglog` database, TCP and socket."""

    url: str
    host: str
    port: int
    socket_dir: Path


def database_url(url: str, name: str) -> str:
    """`url` pointing at database `name` on the same server, as the same role."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(PG_SH), *args], capture_output=True, text=True,
                          timeout=START_TIMEOUT_S, check=False)


def _start(folder: Path, durable: bool) -> PgServer:
    started = _run("start", *([] if durable else ["--no-fsync"]), str(folder))
    if started.returncode != 0:
        raise RuntimeError(
            f"throwaway PostgreSQL did not start (scripts/pg.sh exit {started.returncode}):\n"
            f"{started.stderr.strip()}")
    values = dict(word.split("=", 1) for word in shlex.split(started.stdout) if "=" in word)
    return PgServer(url=values["MSGLOG_DATABASE_URL"], host="127.0.0.1",
                    port=int(values["PGPORT"]), socket_dir=Path(values["PGHOST"]))


def _stop(folder: Path, *, check: bool) -> None:
    stopped = _run("stop", str(folder))
    # A server that would not stop still leaves no folder behind.
    shutil.rmtree(folder, ignore_errors=True)
    if check and stopped.returncode != 0:
        raise RuntimeError(f"scripts/pg.sh stop failed: {stopped.stderr.strip()}")


@contextmanager
def pg_server(*, durable: bool = False) -> Iterator[PgServer]:
    """Start a server in a new temporary folder; stop it and remove the folder on exit."""
    # Not durable, it runs with fsync off: tests check behaviour, never what would survive a
    # power cut. Benches that measure writes ask for PostgreSQL's defaults.
    # Straight under the temp root, not in pytest's tmp_path: that one is private to root,
    # and as root the server runs as postgres, which must be able to reach its folder.
    folder = Path(tempfile.mkdtemp(prefix="msglog-pg-"))
    try:
        server = _start(folder, durable)
        yield server
    except BaseException:
        # The error that got us here is the one to see, not a failure to stop after it.
        _stop(folder, check=False)
        raise
    _stop(folder, check=True)


@asynccontextmanager
async def fresh_database(url: str) -> AsyncIterator[str]:
    """A new empty database (t_<n>) on the server of `url`, dropped on exit; yields its URL."""
    import asyncpg  # only the PostgreSQL tests need the driver

    name = f"t_{next(_names)}"
    # As the superuser: DROP ... WITH (FORCE) must be allowed to end every session in the
    # database, autovacuum's and other roles' included (the server trusts local logins).
    admin = await asyncpg.connect(urlunsplit(urlsplit(url)._replace(
        netloc=f"postgres@{urlsplit(url).hostname}:{urlsplit(url).port}")))
    try:
        await admin.execute(f"CREATE DATABASE {name} OWNER {urlsplit(url).username}")
        try:
            yield database_url(url, name)
        finally:
            # FORCE: a connection the test left open must not keep its database alive.
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await admin.close()
