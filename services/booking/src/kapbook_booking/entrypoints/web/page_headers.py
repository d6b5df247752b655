"""Headers every HTML page gets: a strict content security policy, no framing (but the screening frame), no sniffing."""
from __future__ import annotations

from flask import Response

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    # Calendar blocks are positioned with style attributes; no inline script is ever allowed.
    "style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


def framed_policy(ancestors: tuple[str, ...]) -> str:
    """The policy of a page the widget frames (the screening step): only ``ancestors`` and us may embed it."""
    allowed = " ".join(("'self'",) + tuple(ancestors))
    return CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", f"frame-ancestors {allowed}")


def secure_page(response: Response, *, private: bool, framed_by: tuple[str, ...] | None = None) -> Response:
    """Add the page headers; ``private`` pages (manage links, the console) are never cached or indexed.

    ``framed_by``: the page may be framed by these origins (and ours), said by ``frame-ancestors``;
    X-Frame-Options is left out, as it cannot name origins.
    """
    if response.mimetype != "text/html":
        return response
    if framed_by is not None:
        response.headers["Content-Security-Policy"] = framed_policy(framed_by)
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    if framed_by is None:
        response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer" if private else "strict-origin-when-cross-origin"
    if private:
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response
