"""Schemathesis against /openapi.json of a running server: every check, valid and invalid data.

The run is schemathesis' own command line (`--checks all --mode all`, every phase:
examples, coverage, fuzzing, stateful), as a user would run it, once with every feature
switched on and once with them off (their routes then answer the documented 404
`disabled`). The live tail never ends by itself, so it is left out of the generated run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import schemathesis
from loadgen import message
from serverproc import ServerProcess

# Examples per operation in the fuzzing phase: enough to reach the edges of every
# parameter, few enough that both runs together stay well under two minutes on two cores.
EXAMPLES = 30
RUN_TIMEOUT_S = 150
STREAM = "/api/messages/stream"

pytestmark = pytest.mark.slow
ADMIN_TOKEN = "fuzz-admin-token"
TELEGRAM_SECRET = "fuzz-telegram"
KOOK_VERIFY_TOKEN = "fuzz-kook"
EVERY_FEATURE = {
    "MSGLOG_ADMIN_TOKEN": ADMIN_TOKEN,
    "MSGLOG_KOOK_VERIFY_TOKEN": KOOK_VERIFY_TOKEN,
    "MSGLOG_TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
}
TESTS = Path(__file__).resolve().parent


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """KOOK's credential travels in the body: valid bodies carry the real one.

    Loaded into the schemathesis process (SCHEMATHESIS_HOOKS). Without it every KOOK case
    would stop at the 401, short of the handler. Invalid cases keep what was generated:
    fixing their token could make them valid, and they must be refused as they are.
    """
    if case.path != "/webhooks/kook" or case.meta is None or case.meta.generation.mode.is_negative:
        return
    if isinstance(case.body, dict) and isinstance(case.body.get("d"), dict):
        case.body["d"]["verify_token"] = KOOK_VERIFY_TOKEN


def _server(tmp_path_factory: pytest.TempPathFactory, **env: str) -> ServerProcess:
    db_path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    return ServerProcess(db_path, env={"MSGLOG_WRITE_FLUSH_INTERVAL_MS": "2", **env})


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with _server(tmp_path_factory, **EVERY_FEATURE) as server:
        yield server


@pytest.fixture(scope="module")
def bare_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Admin and both webhooks switched off (their settings unset)."""
    with _server(tmp_path_factory) as server:
        yield server


def schemathesis_run(server: ServerProcess, workdir: Path, *headers: str) -> str:
    """The whole run; its report if any check failed (or the run broke)."""
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", server.url + "/openapi.json",
        "--checks", "all",
        "--mode", "all",
        "--exclude-path", STREAM,
        "--max-examples", str(EXAMPLES),
        "--generation-database", "none",
        "--request-timeout", "10",
        "--no-color",
    ]
    for header in headers:
        command += ["--header", header]
    # cwd: schemathesis keeps its own files in the working directory, not in the repository.
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": Path(__file__).stem,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        command, cwd=workdir, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert re.search(r"\d+ generated, \d+ passed", output), output
    return output


def test_every_generated_request_is_answered_as_documented_with_every_feature_on(
    api_server: ServerProcess, tmp_path: Path
) -> None:
    output = schemathesis_run(
        api_server,
        tmp_path,
        f"Authorization: Bearer {ADMIN_TOKEN}",
        f"X-Telegram-Bot-Api-Secret-Token: {TELEGRAM_SECRET}",
    )
    selected = re.search(r"Selected: (\d+)/\d+", output)
    assert selected is not None, output
    # Every selected operation was reached (none skipped as unreachable or broken).
    assert f"Tested: {selected[1]}" in output, output


def test_every_generated_request_is_answered_as_documented_with_features_off(
    bare_server: ServerProcess, tmp_path: Path
) -> None:
    schemathesis_run(bare_server, tmp_path)


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/api/admin/accounts", {"Authorization": "Bearer x"}),
        ("POST", "/webhooks/kook", {}),
        ("POST", "/webhooks/telegram", {"X-Telegram-Bot-Api-Secret-Token": "x"}),
    ],
)
async def test_switched_off_feature_answers_404_disabled(
    bare_server: ServerProcess, method: str, path: str, headers: dict[str, str]
) -> None:
    async with aiohttp.ClientSession() as session:
        url = bare_server.url + path
        async with session.request(method, url, json={}, headers=headers) as resp:
            assert resp.status == 404
            assert (await resp.json())["error"]["code"] == "disabled"


async def test_patch_with_null_status_is_a_documented_422(api_server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.post(api_server.url + "/api/messages", json=message("patch")) as r:
            row_id = (await r.json())["ids"][0]
        url = f"{api_server.url}/api/messages/{row_id}"
        async with session.patch(url, json={"status": None}) as resp:
            assert resp.status == 422
