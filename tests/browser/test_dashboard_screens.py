"""Whole-page checks: wide and narrow layouts (with screenshots), a clean console, API tokens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_seed import seed_rows
from harness import PageErrors, Server, open_page, start_server, stop_server
from pageutil import goto, settle, shown_ids, url_query, wait_live
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

TOKEN = "browser-test-token"


def _page_width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_wide_layout_fits_1280_px(
    browser: Browser, server: Server, artifacts: Path, scheme: str
) -> None:
    errors = PageErrors()
    page = open_page(browser, errors, 1280, 900, scheme)
    try:
        goto(page, server.base_url)
        wait_live(page)
        expect(page.locator("#chart svg")).to_be_visible()
        shot = artifacts / f"dashboard-1280-{scheme}"
        page.screenshot(path=f"{shot}.png", animations="disabled")
        page.screenshot(path=f"{shot}-full.png", full_page=True, animations="disabled")
        assert _page_width(page) <= 1280
        # Every column header is on screen, none squeezed out of view.
        for header in page.locator(".log-table th").all():
            box = header.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 1280
        page.locator("#rows tr.row-failed .c-time").first.click()
        expect(page.locator("#detail")).to_be_visible()
        page.screenshot(path=str(artifacts / f"detail-1280-{scheme}.png"), animations="disabled")
        assert errors.messages == []
    finally:
        page.context.close()


def test_narrow_layout_fits_390_px(browser: Browser, server: Server, artifacts: Path) -> None:
    errors = PageErrors()
    page = open_page(browser, errors, 390, 844)
    try:
        goto(page, server.base_url, "?status=failed")
        wait_live(page)
        page.screenshot(
            path=str(artifacts / "dashboard-390.png"), full_page=True, animations="disabled"
        )
        assert _page_width(page) <= 390
        page.get_by_role("button", name="Filters · 1").click()
        expect(page.locator("select[name=status]")).to_be_visible()
        page.screenshot(path=str(artifacts / "dashboard-390-filters.png"), animations="disabled")
        assert _page_width(page) <= 390
        page.locator("#rows tr.row .c-time").first.click()
        expect(page.locator("#detail")).to_be_visible()
        page.screenshot(path=str(artifacts / "detail-390.png"), animations="disabled")
        assert _page_width(page) <= 390
        assert errors.messages == []
    finally:
        page.context.close()


def test_a_tour_of_the_page_logs_no_errors(page: Page, server: Server) -> None:
    goto(page, server.base_url)
    wait_live(page)
    page.locator("#older").click()
    expect(page.locator("#rows tr.row")).to_have_count(100)
    page.locator('#range button[data-range="30d"]').click()
    page.locator('#range button[data-range="1h"]').click()
    page.locator("#rows tr.row .c-sender").first.click()
    expect(page.locator("#detail")).to_be_visible()
    page.get_by_role("button", name="Close").click()
    page.fill("input[name=q]", "deploy")
    page.press("input[name=q]", "Enter")
    settle(page)
    page.go_back()
    settle(page)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Resume").click()
    page.reload()
    settle(page)
    assert url_query(page) == {"range": ["1h"]}
    # The page fixture fails the test on any console error or uncaught exception.


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("token"), seed_rows()[:60], token=TOKEN)
    yield running
    stop_server(running)


def test_token_protected_server_asks_for_the_token_then_shows_rows(
    page: Page, token_server: Server, page_errors: PageErrors
) -> None:
    goto(page, token_server.base_url)
    state = page.locator("#state")
    expect(state).to_contain_text("This server needs an API token")
    state.locator("input[name=token]").fill(TOKEN)
    state.get_by_role("button", name="Use token").click()
    settle(page)
    assert len(shown_ids(page)) == 50
    wait_live(page)
    expect(page.locator("#stat-total .figure")).to_have_text("60")
    # Chromium reports the refused requests made before the token was given.
    assert all("401" in message for message in page_errors.messages)
    page_errors.messages.clear()
