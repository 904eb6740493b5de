"""The dashboard as a log reader uses it: density, times, export, failures, chart, keys.

Most run at 1280x720 and 390x844; the keyboard ones only on the wide page (phones have none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from dashboard_seed import seed_rows
from harness import TIMEZONE, PageErrors, Server, new_context, start_server, stop_server, watch
from pageutil import goto, newest_first, settle, shown_ids, shown_rows, url_query, wait_live
from playwright.sync_api import Browser, BrowserContext, Page, expect

pytestmark = pytest.mark.browser

SIZES = {"1280x720": (1280, 720), "390x844": (390, 844)}
ISO_LOCAL = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")
VISIBLE_ROWS_JS = """() => [...document.querySelectorAll('#rows tr.row')].filter(tr => {
  const box = tr.getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}).length"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of this module's own: its tests add failed and received rows."""
    running = start_server(tmp_path_factory.mktemp("reader"), seed_rows())
    yield running
    stop_server(running)


@pytest.fixture(scope="module", params=sorted(SIZES))
def sized(request: pytest.FixtureRequest, browser: Browser) -> Iterator[BrowserContext]:
    """One context per screen size for the module's tests that run at both."""
    width, height = SIZES[request.param]
    context = new_context(browser, width, height)
    yield context
    context.close()


@pytest.fixture
def tab(sized: BrowserContext, page_errors: PageErrors) -> Iterator[Page]:
    page = sized.new_page()
    watch(page, page_errors)
    yield page
    found = list(page_errors.messages)
    page.close()
    assert found == [], "the page logged errors"


def _width(page: Page) -> int:
    width: int = page.evaluate("document.documentElement.scrollWidth")
    return width


def _expected_time(iso: str, zone: ZoneInfo) -> str:
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(zone)
    today = datetime.now(zone).date()
    clock = moment.strftime("%H:%M:%S")
    return clock if moment.date() == today else f"{moment:%Y-%m-%d} {clock}"


def test_fifteen_rows_fit_above_the_fold_at_1280x720(browser: Browser, server: Server) -> None:
    context = new_context(browser, 1280, 720)
    try:
        page = context.new_page()
        goto(page, server.base_url)
        expect(page.locator("#chart svg")).to_be_visible()
        assert page.evaluate(VISIBLE_ROWS_JS) >= 15
    finally:
        context.close()


def test_page_never_scrolls_sideways(tab: Page, server: Server) -> None:
    width = tab.viewport_size["width"] if tab.viewport_size else 0
    goto(tab, server.base_url, "?view=failures")
    expect(tab.locator("#failure-list .failure").first).to_be_visible()
    assert _width(tab) <= width
    goto(tab, server.base_url, "?sender=oncall")
    tab.locator("#rows tr.row .content-text").first.click()
    assert _width(tab) <= width


def test_overview_follows_the_filters_and_names_them(tab: Page, server: Server) -> None:
    goto(tab, server.base_url, "?status=failed&platform=discord")
    note = tab.locator("#stats-note")
    expect(note).to_contain_text("status “failed”")
    expect(note).to_contain_text("platform “discord”")
    stats = server.request("GET", "/api/stats?range=24h&status=failed&platform=discord")
    expect(tab.locator("#stat-total .figure")).to_have_text(f"{stats['total']:,}")
    box = tab.locator(".overview").bounding_box()
    table = tab.locator(".logs").bounding_box()
    assert box is not None and table is not None and box["y"] < table["y"]


def test_todays_rows_show_the_time_and_older_ones_the_date_with_year(
    tab: Page, server: Server
) -> None:
    goto(tab, server.base_url, "?sender=alice")
    zone = ZoneInfo(TIMEZONE)
    rows = tab.eval_on_selector_all(
        "#rows tr.row time", "els => els.map(e => [e.getAttribute('datetime'), e.textContent])"
    )
    assert rows
    assert [text for _, text in rows] == [_expected_time(iso, zone) for iso, _ in rows]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", text) for _, text in rows)


def test_hovering_a_time_shows_the_full_iso_8601_timestamp(tab: Page, server: Server) -> None:
    goto(tab, server.base_url)
    for iso, title in tab.eval_on_selector_all(
        "#rows tr.row time", "els => els.map(e => [e.getAttribute('datetime'), e.title])"
    ):
        assert ISO_LOCAL.match(title), title
        assert title.endswith("+08:00")
        assert datetime.fromisoformat(title) == datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_utc_toggle_switches_every_time_and_is_remembered(tab: Page, server: Server) -> None:
    goto(tab, server.base_url, "?sender=alice")
    try:
        tab.get_by_role("button", name="UTC", exact=True).click()
        expect(tab.locator("#zone-label")).to_have_text("(UTC)")
        tab.reload()
        settle(tab)
        expect(tab.locator("#zone-label")).to_have_text("(UTC)")
        assert tab.evaluate("localStorage.getItem('msglog.timeZone')") == "utc"
        for iso, text, title in tab.eval_on_selector_all(
            "#rows tr.row time",
            "els => els.map(e => [e.getAttribute('datetime'), e.textContent, e.title])",
        ):
            assert text == _expected_time(iso, ZoneInfo("UTC"))
            assert title.endswith("Z")
    finally:
        tab.evaluate("localStorage.removeItem('msglog.timeZone')")


def test_export_links_carry_the_current_filters(tab: Page, server: Server) -> None:
    goto(tab, server.base_url, "?status=failed&channel=general")
    for fmt in ("csv", "ndjson"):
        href = tab.locator(f"#export-{fmt}").get_attribute("href") or ""
        query = dict(re.findall(r"([a-z_]+)=([^&]*)", href.split("?", 1)[1]))
        assert {k: query[k] for k in ("format", "status", "channel")} == {
            "format": fmt, "status": "failed", "channel": "general",
        }
    body = tab.request.get(server.base_url + (tab.locator("#export-ndjson").get_attribute(
        "href") or "")).text()
    expected = newest_first(server.seed, lambda r: r.status == "failed" and r.channel == "general")
    assert len(body.splitlines()) == len(expected)


def test_failures_view_groups_by_error_with_count_last_seen_and_targets(
    tab: Page, server: Server
) -> None:
    goto(tab, server.base_url, "?view=failures")
    api = server.request("GET", "/api/failures?range=24h")
    items = tab.locator("#failure-list .failure")
    expect(items).to_have_count(len(api["groups"]))
    for item, group in zip(items.all(), api["groups"], strict=True):
        expect(item.locator(".failure-count")).to_have_text(str(group["count"]))
        expect(item.locator(".failure-message")).to_have_text(
            group["error_message"] or "no error message"
        )
        expect(item.locator(".failure-last")).to_have_attribute("datetime", group["last_seen"])
        assert item.locator(".target-chip").count() == min(4, len(group["targets"]))


def test_clicking_a_failure_group_filters_the_table(tab: Page, server: Server) -> None:
    goto(tab, server.base_url, "?view=failures")
    groups = server.request("GET", "/api/failures?range=24h")["groups"]
    index, group = next((i, g) for i, g in enumerate(groups) if g["error_message"])
    tab.locator("#failure-list .failure").nth(index).click()
    settle(tab)
    assert url_query(tab) == {
        "status": ["failed"], "q": [group["error_message"]], "view": ["failures"],
    }
    rows = shown_rows(tab)
    assert rows and {r["error"] for r in rows} == {group["error_message"]}


def test_chart_stacks_every_status_with_counts_on_hover(tab: Page, server: Server) -> None:
    server.post({
        "kook_message_id": "chart-received", "kook_channel_id": "chart", "status": "received",
    })
    goto(tab, server.base_url)
    for status in ("success", "failed", "pending", "received"):
        expect(tab.locator(f"#chart svg rect.bar-{status}").first).to_be_attached()
    stats = server.request("GET", "/api/stats?range=24h")
    last = len(stats["series"]) - 1
    bucket = tab.locator(f'#chart g.bucket[data-index="{last}"]')
    bucket.hover()
    tip = tab.locator(".chart-tip")
    expect(tip).to_be_visible()
    point = stats["series"][last]
    counts = dict(zip(
        tip.locator(".tip-name").all_text_contents(),
        tip.locator(".tip-count").all_text_contents(), strict=True,
    ))
    assert counts == {s: f"{point[s]:,}" for s in ("success", "failed", "pending", "received")}


def test_back_and_forward_walk_through_range_and_view(tab: Page, server: Server) -> None:
    goto(tab, server.base_url, "?status=failed")
    tab.locator('#range button[data-range="7d"]').click()
    tab.locator('#view button[data-view="failures"]').click()
    assert url_query(tab) == {"status": ["failed"], "range": ["7d"], "view": ["failures"]}
    tab.go_back()
    expect(tab.locator("#failures")).to_be_hidden()
    assert url_query(tab) == {"status": ["failed"], "range": ["7d"]}
    tab.go_back()
    expect(tab.locator('#range button[data-range="24h"]')).to_have_attribute("aria-pressed", "true")
    tab.go_forward()
    tab.go_forward()
    expect(tab.locator("#failures")).to_be_visible()
    expect(tab.locator('#range button[data-range="7d"]')).to_have_attribute("aria-pressed", "true")


def test_slash_focuses_the_search(page: Page, server: Server) -> None:
    goto(page, server.base_url)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(page.locator("input[name=q]")).to_be_focused()
    expect(page.locator("input[name=q]")).to_have_value("")


def test_j_and_k_move_between_rows(page: Page, server: Server) -> None:
    goto(page, server.base_url)
    ids = shown_ids(page)
    focused = "() => document.activeElement.dataset.id"
    for key, index in (("j", 0), ("j", 1), ("j", 2), ("k", 1)):
        page.keyboard.press(key)
        assert page.evaluate(focused) == str(ids[index])


def test_enter_opens_the_focused_row(page: Page, server: Server) -> None:
    goto(page, server.base_url)
    ids = shown_ids(page)
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.locator("#detail")).to_be_visible()
    expect(page.locator("#detail-title")).to_have_text(f"Message #{ids[1]}")
    assert url_query(page)["id"] == [str(ids[1])]


def test_live_tail_keeps_the_filters_and_counts_rows_while_paused(
    tab: Page, server: Server
) -> None:
    goto(tab, server.base_url, "?channel=reader-live&status=failed")
    wait_live(tab)
    tab.get_by_role("button", name="Pause").click()
    base = {"kook_channel_id": "reader-live", "target_platform": "x", "target_channel": "y"}
    server.post(
        {**base, "kook_message_id": f"rl-{tab.viewport_size}-1", "status": "failed"},
        {**base, "kook_message_id": f"rl-{tab.viewport_size}-2", "status": "success"},
        {**base, "kook_message_id": f"rl-{tab.viewport_size}-3", "status": "failed"},
    )
    expect(tab.locator("#new-rows")).to_have_text("2 new")
    tab.get_by_role("button", name="Resume").click()
    rows = shown_rows(tab)
    expect(tab.locator("#rows tr.row")).to_have_count(len(rows))
    assert {r["status"] for r in rows} == {"failed"}
    assert all(r["channel"] == "reader-live" for r in rows)
