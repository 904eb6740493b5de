"""MSGLOG_LOG_FORMAT=json: every line the process writes is one JSON object, aiohttp's too."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serverproc import REPO, ServerProcess, clean_env

UTF8_QUERY = b"GET /api/messages?q=\xe4\xb8\xad HTTP/1.1\r\nHost: x\r\n\r\n"
BAD_HEADER = b"GET /api/messages HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"


def send_raw(server: ServerProcess, raw: bytes) -> bytes:
    """One request written as bytes on a socket; the answer's first line."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        return sock.recv(4096).split(b"\r\n", 1)[0]


def logged(server: ServerProcess, event: str) -> list[dict[str, Any]]:
    """The JSON lines of `event`, once at least one has been written."""
    server.wait_for_output(f'"event": "{event}"')
    lines = [json.loads(line) for line in server.output.splitlines()]
    return [line for line in lines if line["event"] == event]


@pytest.fixture
def json_server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {"MSGLOG_LOG_FORMAT": "json", "MSGLOG_LOG_LEVEL": "INFO"}
    with ServerProcess(tmp_path / "m.db", env=env) as server:
        yield server


@pytest.mark.slow
def test_raw_utf8_in_the_query_leaves_only_json_lines(json_server: ServerProcess) -> None:
    assert send_raw(json_server, UTF8_QUERY).startswith(b"HTTP/1.0 400")
    logged(json_server, "malformed request")
    json_server.terminate()
    lines = json_server.output.splitlines()
    assert lines and "Traceback" not in json_server.output
    assert all(isinstance(json.loads(line), dict) for line in lines), lines


@pytest.mark.slow
@pytest.mark.parametrize(
    ("raw", "cause"),
    [(UTF8_QUERY, "Invalid char in url query"), (BAD_HEADER, "Invalid header token")],
    ids=["utf8-query", "bad-header"],
)
def test_malformed_request_is_one_warning_naming_the_client_and_cause(
    json_server: ServerProcess, raw: bytes, cause: str
) -> None:
    send_raw(json_server, raw)
    [line] = logged(json_server, "malformed request")
    assert line["level"] == "warning"
    assert (line["client"], line["error"], line["status"]) == ("127.0.0.1", cause, 400)
    assert "exception" not in line


@pytest.mark.slow
def test_console_format_names_a_malformed_request_on_one_plain_line(tmp_path: Path) -> None:
    env = {"MSGLOG_LOG_FORMAT": "console", "MSGLOG_LOG_LEVEL": "INFO"}
    with ServerProcess(tmp_path / "m.db", env=env) as server:
        send_raw(server, UTF8_QUERY)
        server.wait_for_output("malformed request")
        output = server.output
    [line] = [line for line in output.splitlines() if "malformed request" in line]
    assert "level='warning'" in line and "client='127.0.0.1'" in line
    assert "Traceback" not in output


STDLIB_ERROR = """
import logging
from bot import logs
logs.configure("json", "INFO")
try:
    raise RuntimeError("the cause")
except RuntimeError:
    logging.getLogger("asyncio").exception("Task exception was never retrieved")
"""


def test_a_standard_library_logger_exception_is_inside_its_json_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", STDLIB_ERROR], cwd=REPO, env=clean_env(),
        capture_output=True, text=True, timeout=60, check=False,
    )
    [line] = done.stderr.splitlines()
    record = json.loads(line)
    assert (record["event"], record["level"], record["logger"]) == (
        "Task exception was never retrieved", "error", "asyncio"
    )
    assert "RuntimeError: the cause" in record["exception"]
