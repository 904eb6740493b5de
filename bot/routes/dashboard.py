"""The dashboard: `GET /` and its static files, sent with a strict security policy."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# Message content is untrusted: even if some of it ever reached the DOM as markup, the
# browser must refuse to run inline script or load anything from elsewhere.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate on every load (ETag / Last-Modified keep that cheap): no stale page
    # after an upgrade, and no build step to fingerprint file names.
    "Cache-Control": "no-cache",
}


def is_dashboard_path(path: str) -> bool:
    return path == "/" or path.startswith("/static/")


async def index(request: web.Request) -> web.FileResponse:
    """The single page; everything else it needs is under /static/."""
    return web.FileResponse(STATIC_DIR / "index.html")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Headers for the page and its files, including the static route's own answers."""
    if is_dashboard_path(request.path):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)


def setup(app: web.Application) -> None:
    """Register this module's routes."""
    app.router.add_get("/", index, name="dashboard")
    app.router.add_static("/static/", STATIC_DIR, name="static")
    app.on_response_prepare.append(add_security_headers)
