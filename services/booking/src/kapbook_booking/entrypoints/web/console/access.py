"""Who may use the staff console, and how its forms are protected.

Staff sign in with email and password; the console keeps a server-side session whose random
secret travels in an HttpOnly, SameSite=Strict cookie only the console's pages honour
(``service_layer.console_sessions``). Towards the eligibility and reminders services the console
sends the session's delegate credential, never the cookie. Every POST form carries a CSRF token: an
HMAC of the session secret (or of a bearer token) under the service's secret, or of a sign-in nonce
cookie before signing in.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from typing import Any

import requests
from flask import Blueprint, g, make_response, redirect, render_template, request, url_for

from kapbook_booking.entrypoints.web.formatting import template_helpers
from kapbook_booking.entrypoints.web.page_headers import secure_page
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_platform.staff.web import CLIENT_ADDRESS_HEADER, STAFF_COOKIE, bearer_token

bp = Blueprint("console", __name__, url_prefix="/staff", template_folder="../templates")

SIGNIN_COOKIE = "kapbook_signin"
SCHEDULERS = ("admin", "front_desk")
# Schedule writes: a clinician too, on their own schedule only (the use case checks which).
SCHEDULE_WRITERS = SCHEDULERS + ("clinician",)
DELEGATE_WAIT_SECONDS = 5
REVIEWERS = ("clinician", "admin")
ROLE_NAMES = {"admin": "Administrator", "clinician": "Clinician", "front_desk": "Front desk"}


def staff_token() -> str | None:
    """The request's own secret: a bearer token, or the console session's cookie (the CSRF basis)."""
    return bearer_token() or request.cookies.get(STAFF_COOKIE)


def service_credential() -> str:
    """What the console sends the other services as the signed-in staff member: the bearer token
    the request came with, else the session's delegate credential."""
    token = bearer_token()
    if token:
        return token
    secret = request.cookies.get(STAFF_COOKIE)
    return container().console_sessions.delegate_token(secret) if secret else ""


def call_as_staff(http: requests.Session, method: str, url: str, token: str, body: dict | None = None,
                  timeout: float = 5.0) -> requests.Response:
    """Call another service with the staff member's credential. A session's delegate reaches the other
    services by event within a second or two of signing in, so a 401 is retried for a few seconds."""
    deadline = time.monotonic() + DELEGATE_WAIT_SECONDS
    # The other service audits the read with the browser's address, not this server's (it trusts the
    # header on a session's delegate credential only).
    headers = {"Authorization": f"Bearer {token}", CLIENT_ADDRESS_HEADER: request.remote_addr or ""}
    while True:
        response = http.request(method, url, json=body, timeout=timeout, headers=headers)
        if response.status_code != 401 or time.monotonic() >= deadline:
            return response
        time.sleep(0.25)


def secure_cookies() -> bool:
    return container().config.public_base_url.startswith("https://")


def _signin_nonce() -> str:
    """The sign-in form's CSRF basis: a random cookie, made on first sight."""
    if "signin_nonce" not in g:
        g.signin_nonce = request.cookies.get(SIGNIN_COOKIE) or secrets.token_urlsafe(24)
    return g.signin_nonce


def _csrf_mac(key: str) -> str:
    basis = staff_token() if current_staff() else "signin:" + _signin_nonce()
    return hmac.new(key.encode(), b"kapbook.console.csrf:" + basis.encode(), hashlib.sha256).hexdigest()


def csrf_token() -> str:
    """Signed with the first BOOKING_CSRF_KEYS key."""
    return _csrf_mac(container().config.effective_csrf_keys[0])


def csrf_ok() -> bool:
    """The form's token matches under any key of the rotation list."""
    # Bytes: compare_digest raises TypeError on a str that is not ASCII (a 500, not a 400).
    sent = request.form.get("csrf_token", "").encode()
    return any(hmac.compare_digest(sent, _csrf_mac(key).encode()) for key in container().config.effective_csrf_keys)


def console_view(*roles: str) -> Callable:
    """A console page: signed in (else to the sign-in page), one of ``roles`` if given, CSRF-checked POSTs."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            staff = current_staff()
            if staff is None:
                target = request.full_path if request.method == "GET" else url_for("console.home")
                return redirect(url_for("console.sign_in", next=target.rstrip("?")))
            if request.endpoint not in ENROLMENT_ENDPOINTS and must_enrol(staff):
                return redirect(url_for("console.two_step"))
            if staff.scopes is not None:
                # A scoped API token is for an integration's calls to the API, where its scopes are
                # checked route by route; the console's pages would bypass them.
                return page("console/problem.html", 403, heading="Not available to a scoped API token",
                            message="insufficient_scope: this token's scopes open the API only. Sign in to use the console.")
            if roles and staff.role not in roles:
                allowed = " or ".join(ROLE_NAMES[role] for role in roles)
                return page("console/problem.html", 403, heading="Not available to your role",
                            message=f"This page is for {allowed} staff. You are signed in as {ROLE_NAMES[staff.role]}.")
            if request.method == "POST" and not csrf_ok():
                return page("console/problem.html", 400, heading="This form has expired",
                            message="Please go back, reload the page and try again.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


# --- two-step verification (helper staff): who must set it up before anything else ---

# What a staff member who must set up two-step verification may still open.
ENROLMENT_ENDPOINTS = frozenset({"console.two_step", "console.two_step_confirm", "console.sign_out",
                                 "console.sign_out_everywhere"})


def must_enrol(staff) -> bool:
    """A console session (not a bearer token) of someone the two-step setting requires to enrol."""
    return bearer_token() is None and container().two_step.needs_enrolment(staff.staff_id)


def page(template: str, status: int = 200, **context: Any):
    """A console page with the private-page headers (no caching, no referrer, no framing)."""
    response = make_response(render_template(template, **context), status)
    if "signin_nonce" in g and request.cookies.get(SIGNIN_COOKIE) != g.signin_nonce:
        response.set_cookie(SIGNIN_COOKIE, g.signin_nonce, httponly=True, samesite="Strict",
                            secure=secure_cookies(), path="/staff/")
    return secure_page(response, private=True)


def safe_next(target: str | None) -> str:
    """Only console paths: never an open redirect to another site."""
    if target and target.startswith("/staff/") and not target.startswith("//"):
        return target
    return url_for("console.home")


@bp.context_processor
def _console_context() -> dict:
    return template_helpers() | {"staff": current_staff(), "csrf_token": csrf_token, "role_names": ROLE_NAMES,
                                 "can_schedule": _has_role(SCHEDULERS), "can_review": _has_role(REVIEWERS)}


def _has_role(roles: tuple[str, ...]) -> bool:
    staff = current_staff()
    return staff is not None and staff.role in roles
