"""First rows on screen over a million rows, at both sizes: measured and recorded, not timed."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from harness import ARTIFACTS, PageErrors, Server, open_page, start_server, stop_server
from playwright.sync_api import Browser

from bench.dataset import ensure
from bench.screenshots import ROWS, measure

pytestmark = [pytest.mark.browser, pytest.mark.slow]

FIGURES: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """msglog on a copy of bench's cached 1M-row database (built once, ~2 min, if missing)."""
    # ensure() runs asyncio itself: on a thread away from Playwright's loop.
    with ThreadPoolExecutor(1) as pool:
        source, _ = pool.submit(ensure, ROWS).result()
    workdir = tmp_path_factory.mktemp("million")
    shutil.copyfile(source, workdir / "messages.db")
    running = start_server(workdir, [])
    yield running
    stop_server(running)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "first-paint-1m.json").write_text(json.dumps(FIGURES, indent=2) + "\n")


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (390, 844)])
def test_first_rows_on_screen_over_a_million_rows(
    browser: Browser, million: Server, width: int, height: int
) -> None:
    errors = PageErrors()
    page = open_page(browser, errors, width, height)
    try:
        page.goto(million.base_url + "/")
        figures = measure(page)
        FIGURES[f"{width}x{height}"] = figures
        print(f"\n{width}x{height} over {ROWS:,} rows: {figures}")
        assert figures["rows_loaded"] == 50
        assert figures["page_width"] <= width
        if width == 1280:
            assert figures["rows_visible"] >= 15
        assert errors.messages == []
    finally:
        page.context.close()
