"""Access log: successes at DEBUG (metrics count them), 4xx INFO, 5xx ERROR, slow WARNING."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import structlog
from aiohttp.test_utils import TestClient

from bot import logs
from bot.app import create_app
from bot.settings import Settings
from tests.apihelp import message


@pytest.fixture
def info_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """JSON lines at the default level (INFO), as production writes them."""
    saved = structlog.get_config()
    out = io.StringIO()
    with monkeypatch.context() as patch:
        patch.setattr(sys, "stderr", out)
        logs.configure("json", "INFO")
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines()]
    structlog.configure(**saved)


def requests_logged(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["event"] == "request"]


async def test_successful_requests_are_not_logged_at_info(
    client: TestClient[Any, Any], info_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    assert (await client.post("/api/messages", json=message(1))).status == 201
    assert (await client.get("/api/messages")).status == 200
    assert requests_logged(info_logs()) == []


async def test_client_errors_are_logged_at_info_with_the_request_id(
    client: TestClient[Any, Any], info_logs: Callable[[], list[dict[str, Any]]]
) -> None:
    resp = await client.get("/api/messages/999999")
    assert resp.status == 404
    [line] = requests_logged(info_logs())
    assert (line["level"], line["status"]) == ("info", 404)
    assert line["request_id"] == resp.headers["X-Request-ID"]


async def test_slow_requests_are_logged_at_warning(
    aiohttp_client: Any, make_settings: Callable[..., Settings],
    info_logs: Callable[[], list[dict[str, Any]]],
) -> None:
    client = await aiohttp_client(create_app(make_settings(slow_request_s=1e-9)))
    assert (await client.post("/api/messages", json=message(1))).status == 201
    [line] = requests_logged(info_logs())
    assert (line["level"], line["status"]) == ("warning", 201)
