"""Reading the dashboard page in tests: what rows it shows, when it has settled."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

from dashboard_seed import SeedRow
from playwright.sync_api import Page, expect

expect.set_options(timeout=8000)

ROWS_JS = """trs => trs.map(tr => ({
  id: Number(tr.dataset.id),
  created_at: tr.querySelector('.c-time time').getAttribute('datetime'),
  channel: tr.querySelector('.c-channel').textContent,
  sender: tr.querySelector('.c-sender').textContent,
  content: tr.querySelector('.content-text').textContent,
  platform: tr.querySelector('.platform').textContent,
  status: tr.querySelector('.pill').textContent,
  error: tr.querySelector('.c-error').textContent,
}))"""

SETTLED_JS = """() => {
  const wrap = document.querySelector('.table-wrap');
  const state = document.getElementById('state');
  const rows = document.querySelectorAll('#rows tr').length;
  const shown = state && !state.hidden && state.dataset.kind !== 'loading';
  return wrap && !wrap.classList.contains('is-loading') && (rows > 0 || shown);
}"""


def settle(page: Page) -> None:
    """Wait until the table shows the answer to the latest request (rows or a state)."""
    page.wait_for_function(SETTLED_JS)


def goto(page: Page, base_url: str, query: str = "") -> None:
    page.goto(f"{base_url}/{query}")
    settle(page)


def shown_rows(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.eval_on_selector_all("#rows tr.row", ROWS_JS)
    return rows


def shown_ids(page: Page) -> list[int]:
    return [row["id"] for row in shown_rows(page)]


def newest_first(rows: list[SeedRow], keep: Callable[[SeedRow], bool]) -> list[int]:
    """Ids of the seed rows that match, in the order the API returns them."""
    chosen = sorted((r for r in rows if keep(r)), key=lambda r: (r.created_ms, r.id), reverse=True)
    return [r.id for r in chosen]


def url_query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def wait_live(page: Page) -> None:
    expect(page.locator("#live")).to_have_attribute("data-state", "live")
