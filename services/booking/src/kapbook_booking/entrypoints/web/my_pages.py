"""/my: a returning patient signs in with a one-time emailed link and sees "My appointments".

Asking for a link always answers the same page, known address or not. The emailed link opens a
page with a "Sign in" button (GET consumes nothing, so a mail scanner fetching it does no harm);
the button's POST uses the link once. Every form carries a CSRF token.
"""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.entrypoints.web.formatting import day_label, template_helpers
from kapbook_booking.entrypoints.web.page_headers import CONTENT_SECURITY_POLICY, secure_page
from kapbook_booking.entrypoints.web.patient_access import (
    LINK_SENT,
    clear_session_cookie,
    csrf_ok,
    csrf_token,
    keep_csrf_cookie,
    session_id,
    set_session_cookie,
    sign_in_refused_for,
    signed_in_email,
)
from kapbook_booking.entrypoints.web.public_catalog import catalog
from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.errors import BookingError
from kapbook_platform.web.ratelimit import public_write

bp = Blueprint("my", __name__, url_prefix="/my", template_folder="templates")

# The join link shows from this long before the start until the end (as the emails promise).
JOIN_OPENS = timedelta(minutes=15)
EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}\.[^@\s\x00-\x1f\x7f]+$")
LINK_PROBLEM = "This link has expired or was already used — ask for a new one."


@bp.context_processor
def _helpers() -> dict:
    return template_helpers() | {"csrf_token": csrf_token, "series_label": series_label, "local_day": local_day}


@bp.get("")
def home():
    """My appointments when signed in, else the form asking for a sign-in link."""
    email = signed_in_email()
    if email is None:
        return _page("patient/my_sign_in.html")
    return _page("patient/my_appointments.html", **_appointments(email))


@bp.post("/sign-in-link")
@public_write()
def ask_for_link():
    """Email a one-time link; the same answer whether or not we know the address."""
    if not csrf_ok():
        return _page("patient/my_sign_in.html", 400, error="This form has expired. Please try again.")
    email = request.form.get("email", "").strip()
    if not EMAIL.match(email) or len(email) > 320:
        return _page("patient/my_sign_in.html", 422, error="Please enter your email address, like name@example.org.",
                     email=email)
    wait = sign_in_refused_for()
    if wait is not None:
        minutes = max(1, round(wait / 60))
        response = _page("patient/my_sign_in.html", 429,
                         error=f"We have sent several links already. Please wait {minutes} minutes and try again.")
        response.headers["Retry-After"] = str(wait)
        return response
    container().patients.request_sign_in_link(email)
    return _page("patient/my_link_sent.html", message=LINK_SENT)


@bp.get("/sign-in/<string:token>")
def sign_in_page(token: str):
    """The emailed link: a button that signs in (fetching this page uses nothing up)."""
    return _confirm_page(token)


@bp.post("/sign-in/<string:token>")
@public_write()
def sign_in(token: str):
    if not csrf_ok():
        return _confirm_page(token, 400, error="This form has expired. Please press Sign in again.")
    try:
        signed_in = container().patients.sign_in(token)
    except BookingError as refusal:
        return _page("patient/my_sign_in.html", http_status(refusal), problem=refusal.message)
    target = url_for("my.home")
    if signed_in.return_to and signed_in.widget_handoff:
        # The fragment never reaches a server or a Referer header; the widget exchanges the code at once
        # (it works once) and removes it from the address.
        target = f"{signed_in.return_to.split('#', 1)[0]}#kapbook-handoff={signed_in.widget_handoff}"
    response = redirect(target, code=303)
    set_session_cookie(response, signed_in.session_id)
    return secure_page(response, private=True)


@bp.post("/sign-out")
def sign_out():
    if csrf_ok() and session_id():
        container().patients.sign_out(session_id())
    response = redirect(url_for("my.home", signed_out=1), code=303)
    clear_session_cookie(response)
    return secure_page(response, private=True)


def _confirm_page(token: str, status: int = 200, error: str | None = None):
    """The "Sign in" button of a usable link, else the clear problem page with the form to ask again."""
    works, return_origin = container().patients.usable_link(token)
    if not works:
        return _page("patient/my_sign_in.html", 403, problem=LINK_PROBLEM)
    response = _page("patient/my_sign_in_confirm.html", status, token=token, error=error)
    if return_origin:
        # The button's POST redirects to the widget's page: the form may lead there (and nowhere else).
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {return_origin}")
    return response


def _appointments(email: str) -> dict[str, Any]:
    mine = container().patients.appointments(email)
    now = container().clock()
    names = {kind["code"]: kind for kind in catalog().appointment_types()}
    for booking in mine["upcoming"] + mine["past"]:
        booking["type_name"] = names.get(booking["appointment_type"], {}).get("name", booking["appointment_type"])
        booking["join_now"] = bool(booking.get("join_url")) and booking["status"] in ("booked", "arrived") and (
            booking["start"] - JOIN_OPENS <= now < booking["end"])
    return mine


def local_day(moment, zone: str | None) -> str:
    """The date of ``moment`` where the patient lives: "Wednesday 3 March 2027"."""
    return day_label(moment.astimezone(ZoneInfo(zone or "UTC")))


def series_label(series: dict[str, Any] | None) -> str | None:
    """``IV induction: session 3 of 6`` for a session of a course, else None."""
    if not series:
        return None
    return f"{series['protocol_name']}: session {series['position']} of {series['size']}"


def _page(template: str, status: int = 200, **context: Any):
    context.setdefault("signed_out", request.args.get("signed_out") == "1")
    response = make_response(render_template(template, **context), status)
    return secure_page(keep_csrf_cookie(response), private=True)
