"""Headers every HTML page gets: a strict content security policy, no framing, no sniffing."""
from __future__ import annotations

from flask import Response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    # Calendar blocks are positioned with style attributes; no inline script is ever allowed.
    "style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def secure_page(response: Response, *, private: bool) -> Response:
    """Add the page headers; ``private`` pages (manage links, the console) are never cached or indexed."""
    if response.mimetype != "text/html":
        return response
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer" if private else "strict-origin-when-cross-origin"
    if private:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
