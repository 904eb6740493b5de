"""The `msglog` command: options before or after the subcommand, serve by default."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from serverproc import REPO, clean_env, free_port

MSGLOG = Path(sys.executable).parent / "msglog"


def cli(args: Sequence[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "run.py"), *args], cwd=cwd, env=clean_env(**env),
        capture_output=True, text=True, timeout=60, check=False,
    )


@contextmanager
def serving(args: Sequence[str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """`python run.py ARGS` with MSGLOG_PORT on another port than the options give."""
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), *args], cwd=cwd,
        env=clean_env(MSGLOG_PORT=str(free_port()), MSGLOG_LOG_LEVEL="WARNING"),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def answers(port: int, proc: subprocess.Popen[str]) -> bool:
    """Whether /healthz answers on `port` before the process exits or 30 s pass."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    return False


@pytest.mark.parametrize(
    "args",
    [["--db", "x/m.db", "migrate"], ["migrate", "--db", "x/m.db"],
     ["--db", "x/m.db", "accounts", "add", "a@example.com"],
     ["accounts", "add", "--db", "x/m.db", "a@example.com"]],
    ids=["migrate-before", "migrate-after", "accounts-before", "accounts-after"],
)
def test_db_option_is_taken_before_or_after_the_subcommand(
    tmp_path: Path, args: list[str]
) -> None:
    done = cli(args, tmp_path, MSGLOG_DB_PATH=str(tmp_path / "env.db"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "x" / "m.db").exists()
    assert not (tmp_path / "env.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "where",
    [["--db", "m.db", "serve", "--port"], ["serve", "--db", "m.db", "--port"],
     ["--db", "m.db", "--port"]],
    ids=["db-before-serve", "both-after-serve", "serve-by-default"],
)
def test_serve_listens_on_the_port_option_wherever_it_is_given(
    tmp_path: Path, where: list[str]
) -> None:
    port = free_port()
    with serving([*where, str(port)], tmp_path) as proc:
        assert answers(port, proc)
    assert (tmp_path / "m.db").exists()


@pytest.mark.parametrize(
    ("args", "named"),
    [(["serve", "--port", "eighty"], "--port: input should be a valid integer"),
     (["--port", "70000"], "--port: input should be less than or equal to 65535")],
    ids=["not-a-number", "out-of-range"],
)
def test_bad_option_value_is_one_line_naming_the_option(
    tmp_path: Path, args: list[str], named: str
) -> None:
    done = cli(args, tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("msglog: invalid settings: ") and named in line


def test_bad_value_of_a_commands_own_option_is_one_line_pointing_to_help(
    tmp_path: Path,
) -> None:
    done = cli(["backup", "--pages-per-step", "many", "copy.db"], tmp_path)
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert "--pages-per-step: invalid int value: 'many'" in line
    assert line.endswith("(see msglog backup --help)")


def test_port_option_on_a_command_that_does_not_serve_is_a_usage_error(tmp_path: Path) -> None:
    done = cli(["--port", "9000", "migrate", "--db", "m.db"], tmp_path)
    assert done.returncode == 2
    assert "--port applies to serve only" in done.stderr
    assert not (tmp_path / "m.db").exists()


def test_console_script_runs_the_same_commands(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(MSGLOG), "migrate", "--db", "m.db"], cwd=tmp_path, env=clean_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "m.db: schema up to date\n"
