"""The dashboard's security headers, added by the request middleware to its answers."""

from __future__ import annotations

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
