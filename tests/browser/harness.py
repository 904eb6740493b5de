"""The browser-test harness: a seeded msglog process and Chromium pages that record errors."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboard_seed import SeedRow
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

from storage import AsyncDatabase
from storage.timeutil import now_ms

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# The page's local time zone: KOOK's users mostly live here, and a zone away from UTC
# proves the time-range inputs convert between local time and the API's UTC.
TIMEZONE = "Asia/Shanghai"
MINUTE_MS = 60_000


@dataclass
class Server:
    """A running msglog process, its seed rows (with ids) and a tiny HTTP client."""

    base_url: str
    process: subprocess.Popen[bytes]
    seed: list[SeedRow] = field(default_factory=list)
    token: str | None = None

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base_url + path, data, headers, method=method)
        with urllib.request.urlopen(req, timeout=10) as response:
            return json.loads(response.read())

    def post(self, *rows: dict[str, Any]) -> list[int]:
        ids: list[int] = self.request("POST", "/api/messages", list(rows))["ids"]
        return ids


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def write_seed(db_path: Path, rows: list[SeedRow]) -> None:
    """Rows through the storage API, then back-dated so ranges and the chart have a shape."""
    now = now_ms()
    async with AsyncDatabase(db_path) as db:
        ids = await asyncio.gather(
            *(
                db.add_message_log_async(
                    r.kook_message_id,
                    r.channel,
                    r.content,
                    "1",
                    r.sender,
                    r.platform,
                    r.target_channel,
                    r.status,
                    r.error,
                    r.latency_ms,
                )
                for r in rows
            )
        )
        for row, row_id in zip(rows, ids, strict=True):
            row.id = row_id
            row.created_ms = now - row.age_minutes * MINUTE_MS
        await asyncio.gather(
            *(
                db.execute_write(
                    "UPDATE message_logs SET created_at = ?, updated_at = ? WHERE id = ?",
                    (r.created_ms, r.created_ms, r.id),
                )
                for r in rows
            )
        )


def wait_ready(server: Server, log_path: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"msglog exited early:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(server.base_url + "/healthz", timeout=1):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"msglog did not start:\n{log_path.read_text()}")


def start_server(workdir: Path, seed: list[SeedRow], token: str | None = None) -> Server:
    db_path = workdir / "messages.db"
    # The storage API runs its own loop: do that on a thread of its own, away from the
    # loops pytest-asyncio manages for the rest of the suite.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, write_seed(db_path, seed)).result()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGLOG_")}
    env.update(
        MSGLOG_DB_PATH=str(db_path),
        MSGLOG_HOST="127.0.0.1",
        MSGLOG_PORT=str(port),
        MSGLOG_LOG_LEVEL="WARNING",
        MSGLOG_WRITE_FLUSH_INTERVAL_MS="5",
    )
    if token:
        env["MSGLOG_API_TOKEN"] = token
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "run.py", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, seed, token)
    try:
        wait_ready(server, log_path)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@dataclass
class PageErrors:
    """Console errors and uncaught exceptions of one page; any left at the end fails."""

    messages: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.messages.append(f"pageerror: {error}")


def new_context(browser: Browser, width: int, height: int, scheme: str = "light") -> BrowserContext:
    context = browser.new_context(
        viewport={"width": width, "height": height},
        timezone_id=TIMEZONE,
        locale="en-US",
        color_scheme=scheme,  # type: ignore[arg-type]
    )
    context.set_default_timeout(8000)
    return context


def watch(page: Page, errors: PageErrors) -> None:
    page.on("console", errors.on_console)
    page.on("pageerror", errors.on_page_error)


def open_page(
    browser: Browser, errors: PageErrors, width: int, height: int, scheme: str = "light"
) -> Page:
    """A page in a context of its own (closing the page's context closes both)."""
    page = new_context(browser, width, height, scheme).new_page()
    watch(page, errors)
    return page
