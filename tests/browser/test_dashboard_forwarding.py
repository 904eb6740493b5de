"""The forwarding view in a real browser: routes with their outcomes, deliveries, Resend."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import Server, start_server, stop_server
from pageutil import goto
from playwright.sync_api import Page, expect

from storage import AsyncDatabase, deliveries, forward_routes
from storage.forward_routes import NewRoute

HOOK = "https://discord.example/api/webhooks/1/route-secret-token"


@dataclass(frozen=True)
class Seeded:
    route_id: int
    sent_id: int
    dead_id: int
    detail_dead_id: int


async def seed(db_path: Path) -> Seeded:
    """One route with a delivered, a dead and a second dead delivery, then disabled: the
    worker leaves a resent row pending, so the test sees exactly what Resend did."""
    async with AsyncDatabase(db_path) as db:
        rid = await forward_routes.add(db, NewRoute("kook", "chan-fwd", "discord", "hook-a", HOOK))
        for n in range(3):
            await db.add_message_log_async(f"fwd-{n}", "chan-fwd", f"hello {n}", "text",
                                           "ann", None, None, "received")
        sent, dead, detail_dead = await deliveries.lane(db, rid, 10)
        await deliveries.succeeded(db, sent.id, 12)
        await deliveries.dead(db, dead.id, "HTTP 404: Unknown Webhook")
        await deliveries.dead(db, detail_dead.id, "HTTP 404: Unknown Webhook")
        await forward_routes.set_enabled(db, rid, False)
    return Seeded(rid, sent.id, dead.id, detail_dead.id)


@pytest.fixture(scope="module")
def fwd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Seeded]]:
    workdir = tmp_path_factory.mktemp("forwarding")
    # The storage API runs its own loop, on a thread away from pytest-asyncio's.
    with ThreadPoolExecutor(1) as pool:
        seeded = pool.submit(asyncio.run, seed(workdir / "messages.db")).result()
    running = start_server(workdir, [])
    yield running, seeded
    stop_server(running)


def status_of(server: Server, row_id: int) -> str:
    row = server.request("GET", f"/api/messages/{row_id}")
    return str(row["status"])


def test_forwarding_view_lists_each_route_with_its_counts(
    page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    goto(page, server.base_url)
    page.locator('#view button[data-view="forwarding"]').click()
    route = page.locator(f'#route-list tr.route[data-route-id="{seeded.route_id}"]')
    expect(route).to_be_visible()
    expect(route).to_contain_text("chan-fwd")
    expect(route).to_contain_text("hook-a")
    expect(route).to_contain_text("Disabled")
    expect(route.locator(".c-fwd-error")).to_have_text("HTTP 404: Unknown Webhook")
    assert "route-secret-token" not in page.content()


def test_resend_in_the_route_deliveries_puts_a_dead_row_back_to_pending(
    page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    goto(page, server.base_url)
    page.locator('#view button[data-view="forwarding"]').click()
    page.locator(f'#route-list tr.route[data-route-id="{seeded.route_id}"] .route-link').click()
    dead = page.locator(f'#route-deliveries tr.delivery[data-id="{seeded.dead_id}"]')
    expect(dead).to_contain_text("dead")
    sent = page.locator(f'#route-deliveries tr[data-id="{seeded.sent_id}"]')
    expect(sent.locator(".resend")).to_have_count(0)
    dead.locator(".resend").click()
    expect(dead).to_contain_text("pending")
    assert status_of(server, seeded.dead_id) == "pending"


def test_resend_in_the_detail_panel_puts_a_dead_row_back_to_pending(
    page: Page, fwd_server: tuple[Server, Seeded]
) -> None:
    server, seeded = fwd_server
    goto(page, server.base_url, f"?id={seeded.detail_dead_id}")
    panel = page.locator("#detail")
    expect(panel).to_be_visible()
    panel.get_by_role("button", name="Resend").click()
    expect(panel.get_by_role("button", name="Resend")).to_have_count(0)
    assert status_of(server, seeded.detail_dead_id) == "pending"
