"""Security headers on every response of every service.

A route that chose a header itself keeps its choice (the booking pages set their own content
security policy, the public catalogue and the iCalendar feeds their own caching); these are the
defaults for everything else:

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer``: manage links and
  calendar feeds carry their credential in the URL, so no URL leaves in a Referer header.
- No framing anywhere (``X-Frame-Options: DENY`` and CSP ``frame-ancestors 'none'``, added to a
  policy a page set without it). The widget is embedded with a script tag; its screening step alone
  is framed, and that page names who may frame it in its own ``frame-ancestors`` (no
  X-Frame-Options then: it cannot name origins, and DENY beside it would only confuse browsers).
- A content security policy: HTML pages may load scripts only from us (no inline script) and use
  inline style attributes (the staff calendar positions its blocks with them); API responses get
  a policy that lets them load nothing.
- ``Cache-Control: no-store`` on any response that did not choose its own caching: bookings,
  manage links, screenings and staff data must not stay in browser or proxy caches.
- ``Strict-Transport-Security`` when the request came over https (directly or, per
  ``KAPBOOK_TRUSTED_PROXIES``, through a proxy that says so).
"""
from __future__ import annotations

from flask import Flask, Response, request

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HSTS = "max-age=31536000; includeSubDomains"

DEFAULTS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def secure_headers(response: Response) -> Response:
    policy = response.headers.get("Content-Security-Policy")
    framed = policy is not None and "frame-ancestors" in policy and "frame-ancestors 'none'" not in policy
    for name, value in DEFAULTS.items():
        if not (framed and name == "X-Frame-Options"):
            response.headers.setdefault(name, value)
    if policy is None:
        response.headers["Content-Security-Policy"] = PAGE_POLICY if response.mimetype == "text/html" else API_POLICY
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy.rstrip('; ')}; frame-ancestors 'none'"
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def install_security_headers(app: Flask) -> None:
    app.after_request(secure_headers)
