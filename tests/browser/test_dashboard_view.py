"""The dashboard in a real browser: rows, filters in the URL, search, paging, stats, detail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from dashboard_seed import BULK_ROWS, SeedRow
from harness import TIMEZONE, PageErrors, Server
from pageutil import goto, newest_first, settle, shown_ids, shown_rows, url_query
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def test_first_page_shows_the_newest_rows_in_api_order(page: Page, server: Server) -> None:
    goto(page, server.base_url)
    api = server.request("GET", "/api/messages")
    assert shown_ids(page) == [row["id"] for row in api["items"]]
    assert len(api["items"]) == 50


def test_row_shows_each_column(page: Page, server: Server) -> None:
    cn = next(r for r in server.seed if r.kook_message_id == "seed-cn")
    goto(page, server.base_url, "?channel=kook-cn")
    line = page.locator(f'#rows tr[data-id="{cn.id}"]')
    expect(line.locator(".c-channel")).to_have_text("kook-cn")
    expect(line.locator(".c-sender")).to_have_text("小明")
    expect(line.locator(".content-text")).to_have_text(cn.content)
    expect(line.locator(".platform")).to_have_text("discord")
    expect(line.locator(".target-channel")).to_have_text("998877")
    expect(line.locator(".pill")).to_have_class("pill pill-failed")
    expect(line.locator(".c-attempts")).to_have_text("1")
    expect(line.locator(".latency")).to_have_text("2.30 s")
    expect(line.locator(".latency")).to_have_class("latency lat-ok")
    expect(line.locator(".c-error")).to_have_text("discord: 403 Missing Access")


def test_latency_colour_follows_its_band(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?channel=general")
    bands = page.eval_on_selector_all(
        "#rows .latency",
        "els => els.map(e => [e.textContent, e.className.replace('latency ', '')])",
    )
    for text, band in bands:
        if text == "—":
            assert band == "lat-none"
        elif text.endswith(" ms"):
            assert band == "lat-fast"
        else:
            seconds = float(text.split()[0])
            assert band == ("lat-ok" if seconds < 3 else "lat-slow"), text
    assert {band for _, band in bands} >= {"lat-fast", "lat-ok", "lat-slow"}


def _local_input(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%dT%H:%M:%S")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


FILTERS: dict[str, tuple[str, Callable[[SeedRow], bool]]] = {
    "platform": ("discord", lambda r: r.platform == "discord"),
    "channel": ("alerts", lambda r: r.channel == "alerts"),
    "sender": ("carol", lambda r: r.sender == "carol"),
}


def test_status_filter_narrows_rows_and_lands_in_url(page: Page, server: Server) -> None:
    goto(page, server.base_url)
    page.select_option("select[name=status]", "failed")
    settle(page)
    assert url_query(page) == {"status": ["failed"]}
    assert shown_ids(page) == newest_first(server.seed, lambda r: r.status == "failed")
    assert {row["status"] for row in shown_rows(page)} == {"failed"}


@pytest.mark.parametrize("name", sorted(FILTERS))
def test_text_filter_narrows_rows_and_lands_in_url(page: Page, server: Server, name: str) -> None:
    value, keep = FILTERS[name]
    goto(page, server.base_url)
    page.fill(f"input[name={name}]", value)
    page.press(f"input[name={name}]", "Enter")
    settle(page)
    assert url_query(page) == {name: [value]}
    assert shown_ids(page) == newest_first(server.seed, keep)


def test_time_range_filter_narrows_rows_and_lands_in_url(page: Page, server: Server) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    since, until = now - timedelta(hours=3), now - timedelta(hours=1)
    goto(page, server.base_url)
    page.fill("input[name=since]", _local_input(since))
    page.fill("input[name=until]", _local_input(until))
    settle(page)
    assert url_query(page) == {"since": [_iso(since)], "until": [_iso(until)]}
    window = (since.timestamp() * 1000, until.timestamp() * 1000)
    expected = newest_first(server.seed, lambda r: window[0] <= r.created_ms < window[1])
    assert expected
    assert shown_ids(page) == expected


def test_url_with_filters_applies_them_on_load(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?status=failed&platform=discord")
    expect(page.locator("select[name=status]")).to_have_value("failed")
    expect(page.locator("input[name=platform]")).to_have_value("discord")
    expected = newest_first(server.seed, lambda r: r.status == "failed" and r.platform == "discord")
    assert shown_ids(page) == expected


def test_url_time_range_fills_the_inputs_in_local_time(page: Page, server: Server) -> None:
    since = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    goto(page, server.base_url, f"?since={_iso(since)}")
    expect(page.locator("input[name=since]")).to_have_value(_local_input(since))


def test_back_button_returns_to_the_previous_filters(page: Page, server: Server) -> None:
    goto(page, server.base_url)
    page.select_option("select[name=status]", "failed")
    settle(page)
    page.fill("input[name=platform]", "telegram")
    page.press("input[name=platform]", "Enter")
    settle(page)
    assert url_query(page) == {"status": ["failed"], "platform": ["telegram"]}
    page.go_back()
    settle(page)
    assert url_query(page) == {"status": ["failed"]}
    expect(page.locator("input[name=platform]")).to_have_value("")
    assert shown_ids(page) == newest_first(server.seed, lambda r: r.status == "failed")


@pytest.mark.parametrize("word", ["zebracorn", "转发"])
def test_search_finds_a_word_inside_a_sentence(page: Page, server: Server, word: str) -> None:
    goto(page, server.base_url)
    page.fill("input[name=q]", word)
    page.press("input[name=q]", "Enter")
    settle(page)
    assert url_query(page) == {"q": [word]}
    expected = newest_first(server.seed, lambda r: word in r.content)
    assert expected
    assert shown_ids(page) == expected


def test_older_loads_the_next_pages_until_the_end(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?channel=bulk")
    older = page.locator("#older")
    assert len(shown_ids(page)) == 50
    older.click()
    expect(page.locator("#rows tr.row")).to_have_count(100)
    older.click()
    expect(page.locator("#rows tr.row")).to_have_count(BULK_ROWS)
    expect(older).to_be_hidden()
    assert shown_ids(page) == newest_first(server.seed, lambda r: r.channel == "bulk")


def test_no_match_shows_an_empty_state_that_clears_filters(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?channel=no-such-channel")
    state = page.locator("#state")
    expect(state).to_contain_text("No messages match these filters.")
    state.get_by_role("button", name="Clear filters").click()
    settle(page)
    assert url_query(page) == {}
    assert len(shown_ids(page)) == 50


def test_failed_request_shows_an_error_state_with_retry(
    page: Page, server: Server, page_errors: PageErrors
) -> None:
    page.route(
        "**/api/messages?*",
        lambda route: route.fulfill(
            status=503,
            json={"error": {"code": "overloaded", "message": "try later", "details": []}},
        ),
    )
    goto(page, server.base_url)
    state = page.locator("#state")
    expect(state).to_contain_text("The logs could not be loaded. try later")
    page.unroute("**/api/messages?*")
    state.get_by_role("button", name="Try again").click()
    settle(page)
    assert len(shown_ids(page)) == 50
    # Chromium reports the refused request itself; nothing else may have been logged.
    assert all("503" in message for message in page_errors.messages)
    page_errors.messages.clear()


def test_content_click_shows_the_full_text(page: Page, server: Server) -> None:
    long_row = next(r for r in server.seed if r.kook_message_id == "seed-long")
    goto(page, server.base_url, "?sender=oncall")
    line = page.locator(f'#rows tr[data-id="{long_row.id}"]')
    before = line.bounding_box()
    line.locator(".content-text").click()
    expect(line).to_have_class("row row-success expanded")
    after = line.bounding_box()
    assert before is not None and after is not None
    assert after["height"] > before["height"] * 2
    expect(page.locator("#detail")).to_be_hidden()


def test_row_click_opens_the_detail_panel_with_every_field(page: Page, server: Server) -> None:
    cn = next(r for r in server.seed if r.kook_message_id == "seed-cn")
    goto(page, server.base_url, "?channel=kook-cn")
    page.locator(f'#rows tr[data-id="{cn.id}"] .c-time').click()
    panel = page.locator("#detail")
    expect(panel).to_be_visible()
    expect(panel.locator("#detail-title")).to_have_text(f"Message #{cn.id}")
    expect(panel.locator(".is-error .block-text")).to_have_text("discord: 403 Missing Access")
    for label, value in [
        ("Log id", str(cn.id)),
        ("Source message", "seed-cn"),
        ("Source channel", "kook-cn"),
        ("Sender", "小明"),
        ("Target platform", "discord"),
        ("Target channel", "998877"),
        ("Attempts", "1"),
        ("Latency", "2300 ms"),
    ]:
        row = panel.locator(".kv", has=page.locator("dt", has_text=label)).first
        expect(row.locator(".kv-value")).to_have_text(value)
    assert url_query(page) == {"channel": ["kook-cn"], "id": [str(cn.id)]}


def test_copy_button_puts_the_id_on_the_clipboard(page: Page, server: Server) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    cn = next(r for r in server.seed if r.kook_message_id == "seed-cn")
    goto(page, server.base_url, f"?id={cn.id}")
    page.get_by_role("button", name="Copy Source message").click()
    expect(page.get_by_role("button", name="Copy Source message")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "seed-cn"


def test_detail_closes_with_escape_and_back_button(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?status=failed")
    page.locator("#rows tr.row .c-status").first.click()
    expect(page.locator("#detail")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    assert url_query(page) == {"status": ["failed"]}
    page.locator("#rows tr.row .c-status").first.click()
    expect(page.locator("#detail")).to_be_visible()
    page.go_back()
    expect(page.locator("#detail")).to_be_hidden()
    assert url_query(page) == {"status": ["failed"]}


@pytest.mark.parametrize("range_", ["24h", "7d"])
def test_stats_header_shows_the_chosen_range(page: Page, server: Server, range_: str) -> None:
    goto(page, server.base_url)
    page.locator(f'#range button[data-range="{range_}"]').click()
    expect(page.locator(f'#range button[data-range="{range_}"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    stats = server.request("GET", f"/api/stats?range={range_}")
    expect(page.locator("#stat-total .figure")).to_have_text(f"{stats['total']:,}")
    expect(page.locator("#stat-failures")).to_have_text(f"{stats['failures']:,}")
    rate = stats["success_rate"] * 100
    expect(page.locator("#stat-rate")).to_have_text(f"{rate:.1f}%")
    expect(page.locator("#stat-p95")).to_have_text(f"{stats['latency_ms']['p95'] / 1000:.2f} s")
    assert url_query(page) == ({} if range_ == "24h" else {"range": [range_]})
    bars = page.locator("#chart svg rect.bar-failed")
    expect(bars).to_have_count(sum(1 for p in stats["series"] if p["failed"]))
