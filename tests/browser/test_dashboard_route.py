"""GET / and /static/: the files, their security headers, and rules the page's code keeps."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from aiohttp.test_utils import TestClient

from bot.routes.dashboard import CONTENT_SECURITY_POLICY, STATIC_DIR

Client = TestClient[Any, Any]


class Tags(HTMLParser):
    """Every start tag of a document with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def page_tags() -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed((STATIC_DIR / "index.html").read_text(encoding="utf-8"))
    return parser.tags


async def test_dashboard_is_served_with_a_strict_policy(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert '<script type="module" src="/static/js/main.js">' in await response.text()


async def test_static_files_carry_the_same_headers(client: Client) -> None:
    response = await client.get("/static/js/main.js")
    assert response.status == 200
    assert response.content_type in {"text/javascript", "application/javascript"}
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_every_file_the_page_references_is_served(client: Client) -> None:
    paths = [
        attrs.get("src") or attrs.get("href")
        for tag, attrs in page_tags()
        if tag in {"script", "link", "img"}
    ]
    assert len(paths) > 5
    for path in paths:
        assert path is not None and path.startswith("/static/"), path
        response = await client.get(path)
        assert response.status == 200, path


async def test_static_route_stays_inside_its_folder(client: Client) -> None:
    response = await client.get("/static/%2e%2e/routes/dashboard.py")
    assert response.status in {403, 404}
    assert "def setup" not in await response.text()


async def test_api_answers_do_not_get_page_headers(client: Client) -> None:
    response = await client.get("/healthz")
    assert "Content-Security-Policy" not in response.headers


def test_page_has_no_inline_script_style_or_handlers() -> None:
    for tag, attrs in page_tags():
        assert tag != "style"
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag
        if tag == "script":
            assert attrs.get("src"), "inline <script>"


def test_scripts_never_turn_data_into_markup() -> None:
    sinks = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(")
    found = [
        f"{path.name}: {line.strip()}"
        for path in sorted((STATIC_DIR / "js").glob("*.js"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if sinks.search(line)
    ]
    assert found == []


def test_every_script_module_is_preloaded() -> None:
    preloaded = {
        attrs.get("href")
        for tag, attrs in page_tags()
        if tag == "link" and attrs.get("rel") == "modulepreload"
    }
    modules = {f"/static/js/{path.name}" for path in (STATIC_DIR / "js").glob("*.js")}
    assert modules - preloaded == {"/static/js/main.js"}
