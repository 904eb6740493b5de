"""The forwarding view in a real browser: routes with their outcomes, deliveries, Resend.

Its server has routes and an API token (the session's has neither), so every request
the view makes, Resend included, must carry the token the page was given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import Server, start_server, stop_server
from pageutil import goto, url_query
from playwright.sync_api import Page, expect

from storage import AsyncDatabase, deliveries, forward_routes
from storage.forward_routes import NewRoute
from storage.timeutil import now_ms

pytestmark = pytest.mark.browser

TOKEN = "forwarding-browser-token"
HOOK = "https://discord.example/api/webhooks/1/route-secret-token"
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Seeded:
    route_id: int
    quiet_id: int
    sent_id: int
    dead_id: int
    detail_dead_id: int
    failed_id: int


async def seed(db_path: Path) -> Seeded:
    """A route with one delivery of each outcome (two dead), then disabled: the worker
    leaves a resent row pending, so the test sees exactly what Resend did. A second
    route has no deliveries at all."""
    async with AsyncDatabase(db_path) as db:
        rid = await forward_routes.add(db, NewRoute("kook", "chan-fwd", "discord", "hook-a", HOOK))
        quiet = await forward_routes.add(db, NewRoute("kook", "chan-quiet", "kook", "k-quiet"))
        for n in range(5):
            await db.add_message_log_async(f"fwd-{n}", "chan-fwd", f"hello {n}", "text",
                                           "ann", None, None, "received")
        await forward_routes.set_enabled(db, rid, False)
        sent, dead, detail_dead, failed, _pending = await deliveries.lane(db, rid, 10)
        await deliveries.succeeded(db, sent.id, 12)
        await deliveries.dead(db, dead.id, "HTTP 404: Unknown Webhook")
        await deliveries.dead(db, detail_dead.id, "HTTP 404: Unknown Webhook")
        await deliveries.failed(db, failed.id, "HTTP 502: Bad Gateway", now_ms() + HOUR_MS)
    return Seeded(rid, quiet, sent.id, dead.id, detail_dead.id, failed.id)


@pytest.fixture(scope="module")
def fwd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Seeded]]:
    workdir = tmp_path_factory.mktemp("forwarding")
    # The storage API runs its own loop, on a thread away from pytest-asyncio's.
    with ThreadPoolExecutor(1) as pool:
        seeded = pool.submit(asyncio.run, seed(workdir / "messages.db")).result()
    running = start_server(workdir, [], token=TOKEN)
    yield running, seeded
    stop_server(running)


@pytest.fixture
def fwd_page(page: Page) -> Page:
    """The page fixture (no errors allowed) holding the API token, as the token form keeps it."""
    page.add_init_script(f"localStorage.setItem('msglog.apiToken', {TOKEN!r})")
    return page


def status_of(server: Server, row_id: int) -> str:
    return str(server.request("GET", f"/api/messages/{row_id}")["status"])


def counts_of(server: Server, route_id: int) -> dict[str, int]:
    route = server.request("GET", f"/api/deliveries/{route_id}")["route"]
    counts: dict[str, int] = route["counts"]
    return counts


def open_view(page: Page, server: Server) -> None:
    goto(page, server.base_url)
    page.locator('#view button[data-view="forwarding"]').click()
    expect(page.locator("#forwarding")).to_be_visible()


def test_view_lists_each_route_with_its_counts(
    fwd_page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    open_view(fwd_page, server)
    route = fwd_page.locator(f'#route-list tr.route[data-route-id="{seeded.route_id}"]')
    expect(route).to_contain_text("chan-fwd")
    expect(route).to_contain_text("hook-a")
    expect(route).to_contain_text("Disabled")
    for status, n in counts_of(server, seeded.route_id).items():
        expect(route.locator(f'td[data-status="{status}"]')).to_have_text(str(n))
    expect(route.locator(".c-fwd-error")).to_have_text("HTTP 502: Bad Gateway")
    assert "route-secret-token" not in fwd_page.content()


def test_route_without_deliveries_shows_zero_counts(
    fwd_page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    open_view(fwd_page, server)
    quiet = fwd_page.locator(f'#route-list tr.route[data-route-id="{seeded.quiet_id}"]')
    expect(quiet).to_contain_text("Enabled")
    assert quiet.locator("td[data-status]").all_inner_texts() == ["0", "0", "0", "0"]


def test_view_is_kept_in_the_url(fwd_page: Page, fwd_server: tuple[Server, Seeded]) -> None:
    server, _ = fwd_server
    open_view(fwd_page, server)
    assert url_query(fwd_page) == {"view": ["forwarding"]}
    fwd_page.reload()
    expect(fwd_page.locator("#forwarding")).to_be_visible()
    expect(fwd_page.locator('#view button[data-view="forwarding"]')).to_have_attribute(
        "aria-pressed", "true")


def test_route_shows_its_deliveries_with_resend_on_failed_and_dead_only(
    fwd_page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    open_view(fwd_page, server)
    fwd_page.locator(f'#route-list tr.route[data-route-id="{seeded.route_id}"] .route-link').click()
    table = fwd_page.locator("#route-deliveries")
    expect(table.locator("tr.delivery")).to_have_count(5)
    expect(table.locator(f'tr[data-id="{seeded.sent_id}"] .resend')).to_have_count(0)
    expect(table.locator(f'tr[data-id="{seeded.failed_id}"] .resend')).to_have_count(1)
    expect(table.locator(f'tr[data-id="{seeded.failed_id}"]')).to_contain_text("HTTP 502")


def test_resend_in_the_route_deliveries_puts_a_dead_row_back_to_pending(
    fwd_page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    before = counts_of(server, seeded.route_id)
    open_view(fwd_page, server)
    fwd_page.locator(f'#route-list tr.route[data-route-id="{seeded.route_id}"] .route-link').click()
    dead = fwd_page.locator(f'#route-deliveries tr.delivery[data-id="{seeded.dead_id}"]')
    expect(dead.locator(".pill")).to_have_text("dead")
    dead.locator(".resend").click()
    expect(dead.locator(".pill")).to_have_text("pending")
    expect(dead.locator(".resend")).to_have_count(0)
    assert status_of(server, seeded.dead_id) == "pending"
    route = fwd_page.locator(f'#route-list tr.route[data-route-id="{seeded.route_id}"]')
    expect(route.locator('td[data-status="pending"]')).to_have_text(str(before["pending"] + 1))
    expect(route.locator('td[data-status="dead"]')).to_have_text(str(before["dead"] - 1))


def test_resend_in_the_detail_panel_puts_a_dead_row_back_to_pending(
    fwd_page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    goto(fwd_page, server.base_url, f"?id={seeded.detail_dead_id}")
    panel = fwd_page.locator("#detail")
    panel.get_by_role("button", name="Resend").click()
    expect(panel.locator(".detail-summary .pill")).to_have_text("pending")
    expect(panel.get_by_role("button", name="Resend")).to_have_count(0)
    assert status_of(server, seeded.detail_dead_id) == "pending"


def test_detail_panel_has_no_resend_for_a_row_of_no_route(
    fwd_page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    # Logged by a runtime of its own, on a route's channel and target: not msglog's delivery.
    (row_id,) = server.post({"kook_message_id": "own-1", "kook_channel_id": "chan-fwd",
                             "target_platform": "discord", "target_channel": "hook-a",
                             "status": "dead", "error_message": "gone"})
    asked = f"/api/deliveries/{seeded.route_id}?"
    with fwd_page.expect_response(lambda r: asked in r.url):
        goto(fwd_page, server.base_url, f"?id={row_id}")
    expect(fwd_page.locator("#detail .detail-summary .pill")).to_have_text("dead")
    # The route's answer came; a button would follow it within a task or two.
    fwd_page.wait_for_timeout(200)
    expect(fwd_page.locator("#detail").get_by_role("button", name="Resend")).to_have_count(0)


def test_no_routes_shows_how_to_add_one(page: Page, server: Server) -> None:
    open_view(page, server)
    expect(page.locator("#route-list")).to_contain_text(
        "No forward routes yet: add one with msglog routes add or POST /api/admin/routes")
