"""Bad settings stop the start with the variable named, never a silent default."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from tests.serverproc import run_cli


def test_invalid_log_level_stops_the_start_naming_the_variable(tmp_path: Path) -> None:
    done = run_cli(["migrate"], tmp_path / "m.db", MSGLOG_LOG_LEVEL="loud")
    assert done.returncode == 2
    assert "MSGLOG_LOG_LEVEL" in done.stderr


def test_log_level_is_read_in_any_case() -> None:
    assert Settings(_env_file=None, log_level="debug").log_level == "DEBUG"


def test_unknown_checkpoint_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="checkpoints"):
        Settings(_env_file=None, checkpoints="sometimes")


@pytest.mark.parametrize(
    "args",
    [[], ["serve"], ["migrate"], ["accounts", "list"], ["backup", "copy.db"],
     ["import", "old.db"]],
    ids=["default", "serve", "migrate", "accounts", "backup", "import"],
)
def test_bad_variable_is_one_line_naming_it_for_every_command(
    tmp_path: Path, args: list[str]
) -> None:
    done = run_cli(args, tmp_path / "m.db", MSGLOG_PORT="eighty")
    assert done.returncode == 2
    [line] = done.stderr.splitlines()
    assert line.startswith("msglog: invalid settings: MSGLOG_PORT: input should be a valid integer")
    assert "pydantic" not in line
    assert not (tmp_path / "m.db").exists()
