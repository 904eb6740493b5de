"""Schemathesis against /openapi.json of a running server: no 5xx, answers match the schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from loadgen import message
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from serverproc import ServerProcess

# Examples per operation: enough to reach the edges of every parameter, few enough that
# the whole run stays well under a minute on two cores.
EXAMPLES = 100
# The promise: never a 5xx, and every answer (status, type, headers, body) as documented.
PROMISED = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

pytestmark = pytest.mark.slow
ADMIN_TOKEN = "fuzz-admin-token"


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db_path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    env = {
        "MSGLOG_WRITE_FLUSH_INTERVAL_MS": "2",
        # Every route enabled, so the fuzzer reaches the handlers, not "disabled" 503s.
        "MSGLOG_ADMIN_TOKEN": ADMIN_TOKEN,
        "MSGLOG_KOOK_VERIFY_TOKEN": "fuzz-kook",
        "MSGLOG_TELEGRAM_SECRET_TOKEN": "fuzz-telegram",
    }
    with ServerProcess(db_path, env=env) as server:
        yield server


@pytest.fixture
def api_schema(api_server: ServerProcess) -> Any:
    return schemathesis.openapi.from_url(api_server.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_answers_every_generated_request_as_documented(case: Any) -> None:
    headers = {}
    if case.path.startswith("/api/admin/"):
        headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
    case.call_and_validate(headers=headers, checks=PROMISED)


async def test_patch_with_null_status_is_a_documented_422(api_server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(api_server.url + "/api/messages", json=message("patch")) as r:
            row_id = (await r.json())["ids"][0]
        url = f"{api_server.url}/api/messages/{row_id}"
        async with session.patch(url, json={"status": None}) as resp:
            assert resp.status == 422
