"""The service runs on uvloop (installed by default) and says so at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from serverproc import ServerProcess

pytestmark = pytest.mark.slow


def test_serve_runs_on_uvloop_and_logs_it(tmp_path: Path) -> None:
    env = {"MSGLOG_LOG_FORMAT": "json", "MSGLOG_LOG_LEVEL": "INFO"}
    with ServerProcess(tmp_path / "loop.db", env=env) as server:
        server.wait_for_output('"event_loop": "uvloop"')
