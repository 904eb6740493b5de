"""The live tail and untrusted content, in a real browser against a running server."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from harness import Server
from pageutil import goto, shown_rows, wait_live
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.browser

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=1">'


def message(key: str, channel: str, **fields: Any) -> dict[str, Any]:
    row = {
        "kook_message_id": key,
        "kook_channel_id": channel,
        "content": f"live message {key}",
        "message_type": "1",
        "sender_name": "tester",
        "target_platform": "matrix",
        "target_channel": "!room",
        "status": "success",
        "latency_ms": 120,
    }
    row.update(fields)
    return row


def test_live_tail_shows_a_row_posted_after_load(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?channel=live-a")
    wait_live(page)
    other, new = server.post(message("a-0", "live-elsewhere"), message("a-1", "live-a"))
    line = page.locator(f'#rows tr[data-id="{new}"]')
    expect(line).to_be_visible()
    expect(line).to_have_class("row row-success is-new")
    expect(line.locator(".content-text")).to_have_text("live message a-1")
    # Both arrived in one burst, the other first: it was seen and left out.
    assert [row["id"] for row in shown_rows(page)] == [new]
    assert other < new


def test_live_rows_slide_in_on_top(page: Page, server: Server) -> None:
    (first,) = server.post(message("b-1", "live-b"))
    goto(page, server.base_url, "?channel=live-b")
    wait_live(page)
    (second,) = server.post(message("b-2", "live-b"))
    expect(page.locator("#rows tr.row").first).to_have_attribute("data-id", str(second))
    assert [row["id"] for row in shown_rows(page)] == [second, first]


def test_updated_row_replaces_its_line(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?channel=live-c")
    wait_live(page)
    (row_id,) = server.post(message("c-1", "live-c", status="pending", latency_ms=None))
    line = page.locator(f'#rows tr[data-id="{row_id}"]')
    expect(line.locator(".pill")).to_have_text("pending")
    server.request("PATCH", f"/api/messages/{row_id}", {"status": "success", "latency_ms": 4100})
    expect(line.locator(".pill")).to_have_text("success")
    expect(line.locator(".c-attempts")).to_have_text("2")
    expect(line.locator(".latency")).to_have_class("latency lat-slow")
    expect(page.locator("#rows tr.row")).to_have_count(1)


def test_updated_row_that_no_longer_matches_leaves_the_view(page: Page, server: Server) -> None:
    (row_id,) = server.post(message("d-1", "live-d", status="pending", latency_ms=None))
    goto(page, server.base_url, "?channel=live-d&status=pending")
    wait_live(page)
    expect(page.locator(f'#rows tr[data-id="{row_id}"]')).to_be_visible()
    server.request("PATCH", f"/api/messages/{row_id}", {"status": "success"})
    expect(page.locator(f'#rows tr[data-id="{row_id}"]')).to_have_count(0)
    expect(page.locator("#state")).to_contain_text("No messages match these filters.")


def test_paused_tail_counts_new_rows_and_shows_them_on_resume(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?channel=live-e")
    wait_live(page)
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("#live-label")).to_have_text("Paused")
    first, second = server.post(message("e-1", "live-e"), message("e-2", "live-e"))
    expect(page.locator("#new-rows")).to_have_text("2 new")
    expect(page.locator("#rows tr.row")).to_have_count(0)
    page.locator("#new-rows").click()
    expect(page.locator("#rows tr.row")).to_have_count(2)
    assert [row["id"] for row in shown_rows(page)] == [second, first]
    expect(page.locator("#new-rows")).to_be_hidden()
    expect(page.locator("#live-label")).to_have_text("Live")


def test_search_filter_applies_to_live_rows(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?channel=live-f&q=needle")
    wait_live(page)
    _, hit = server.post(
        message("f-1", "live-f", content="just hay"),
        message("f-2", "live-f", content="a Needle in the hay"),
    )
    expect(page.locator(f'#rows tr[data-id="{hit}"]')).to_be_visible()
    expect(page.locator("#rows tr.row")).to_have_count(1)


PAYLOADS = [SCRIPT, IMG, f"{SCRIPT} and {IMG}"]


def _assert_inert(page: Page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#rows img, #rows script, #detail img, #detail script").count() == 0


def test_markup_in_a_loaded_row_shows_as_text_and_runs_nothing(page: Page, server: Server) -> None:
    ids = server.post(
        *(
            message(f"x-{i}", "xss-load", content=text, sender_name=IMG, error_message=SCRIPT)
            for i, text in enumerate(PAYLOADS)
        )
    )
    goto(page, server.base_url, "?channel=xss-load")
    contents = {row["id"]: row["content"] for row in shown_rows(page)}
    assert contents == dict(zip(ids, PAYLOADS, strict=True))
    assert {row["sender"] for row in shown_rows(page)} == {IMG}
    assert {row["error"] for row in shown_rows(page)} == {SCRIPT}
    page.locator(f'#rows tr[data-id="{ids[-1]}"] .c-time').click()
    expect(page.locator("#detail .block-text").last).to_have_text(PAYLOADS[-1])
    _assert_inert(page)


def test_markup_in_a_live_row_shows_as_text_and_runs_nothing(page: Page, server: Server) -> None:
    goto(page, server.base_url, "?channel=xss-live")
    wait_live(page)
    (row_id,) = server.post(message("y-1", "xss-live", content=IMG, sender_name=SCRIPT))
    line = page.locator(f'#rows tr[data-id="{row_id}"]')
    expect(line.locator(".content-text")).to_have_text(IMG)
    expect(line.locator(".c-sender")).to_have_text(SCRIPT)
    _assert_inert(page)


LIST_LOADS_JS = """() => performance.getEntriesByType('resource')
  .filter(e => e.name.includes('/api/messages?')).length"""


def test_overflow_reconnects_and_reloads_the_first_page(page: Page, server: Server) -> None:
    missed: list[int] = []

    def first_stream_overflows(route: Route) -> None:
        if missed:
            route.fallback()
            return
        # Committed while this client has no stream: only a reload can show it.
        missed.extend(server.post(message("g-1", "live-g")))
        route.fulfill(
            status=200,
            headers={"Content-Type": "text/event-stream"},
            body="event: overflow\ndata: {}\n\n",
        )

    page.route("**/api/messages/stream?*", first_stream_overflows)
    goto(page, server.base_url, "?channel=live-g")
    wait_live(page)
    expect(page.locator(f'#rows tr[data-id="{missed[0]}"]')).to_be_visible()
    page.wait_for_function(f"() => ({LIST_LOADS_JS})() >= 2")
    assert page.evaluate(LIST_LOADS_JS) == 2
    (later,) = server.post(message("g-2", "live-g"))
    expect(page.locator(f'#rows tr[data-id="{later}"]')).to_be_visible()


def _change_number_of_next_post(server: Server, channel: str, row: dict[str, Any]) -> int:
    """Post a row while listening to the stream: the change number it came under."""
    url = f"{server.base_url}/api/messages/stream?channel={channel}"
    with urllib.request.urlopen(url, timeout=10) as stream:
        while stream.readline().strip() != b": connected":
            pass
        server.post(row)
        while True:
            line = stream.readline().decode().strip()
            if line.startswith("id:"):
                return int(line[3:])


def test_reconnect_resumes_from_the_last_event_id_without_a_reload(
    page: Page, server: Server
) -> None:
    first = message("r-1", "live-r")
    seq = _change_number_of_next_post(server, "live-r", first)
    (first_id,) = server.post(first)  # the same row again: its id
    resumed_with: list[str | None] = []
    missed: list[int] = []

    def first_stream_ends_after_one_event(route: Route) -> None:
        if resumed_with or missed:
            if not missed:
                # Committed while this client is between two streams, after its page
                # load: only the replay from Last-Event-ID can bring it.
                missed.extend(server.post(message("r-2", "live-r")))
            resumed_with.append(route.request.headers.get("last-event-id"))
            route.fallback()
            return
        resumed_with.append(None)
        row = server.request("GET", f"/api/messages/{first_id}")
        route.fulfill(
            status=200,
            headers={"Content-Type": "text/event-stream"},
            body=f": connected\n\nid: {seq}\nevent: message\ndata: {json.dumps(row)}\n\n",
        )

    page.route("**/api/messages/stream?*", first_stream_ends_after_one_event)
    goto(page, server.base_url, "?channel=live-r")
    expect(page.locator(f'#rows tr[data-id="{first_id}"]')).to_be_visible()
    expect(page.locator("#rows tr.row")).to_have_count(2)
    assert shown_rows(page)[0]["id"] == missed[0]
    assert resumed_with == [None, str(seq)]
    assert page.evaluate(LIST_LOADS_JS) == 1
