"""Fixtures of the browser tests: one seeded server per session, one Chromium per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_seed import seed_rows
from harness import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PageErrors,
    Server,
    new_context,
    start_server,
    stop_server,
    watch,
)
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("dashboard"), seed_rows())
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture(scope="module")
def context(browser: Browser) -> Iterator[BrowserContext]:
    """One 1280 px context per module: a fresh one per test costs more than the tests."""
    shared = new_context(browser, 1280, 900)
    yield shared
    shared.close()


@pytest.fixture
def page(context: BrowserContext, page_errors: PageErrors) -> Iterator[Page]:
    """A fresh tab; the test fails if the page logged any error."""
    tab = context.new_page()
    watch(tab, page_errors)
    yield tab
    found = list(page_errors.messages)
    tab.close()
    assert found == [], "the page logged errors"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
