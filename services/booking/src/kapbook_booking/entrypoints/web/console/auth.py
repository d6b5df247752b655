"""Signing in to the console with email and password, and signing out (here or everywhere)."""
from __future__ import annotations

from flask import redirect, request, url_for

from kapbook_booking.entrypoints.web.console.access import (
    STAFF_COOKIE,
    bp,
    console_view,
    csrf_ok,
    page,
    safe_next,
    secure_cookies,
)
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.console_sessions import SignInLocked, SignInRefused

NOTICES = {"signed_out": "You are signed out.", "signed_out_everywhere": "You are signed out on every device.",
           "password_reset": "Your new password is saved. Sign in with it."}
COOKIE_PATH = "/staff/"  # only the console's pages need the session; no other service sees it


@bp.get("/")
@console_view()
def home():
    return redirect(url_for("console.calendar"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """Email and password; a new server-side session whose secret goes into the cookie."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(target)
        return _sign_in_page(200, next=target, notice=NOTICES.get(request.args.get("notice", "")))
    email = request.form.get("email", "").strip()
    if not csrf_ok():
        return _sign_in_page(400, next=target, email=email, sign_in_error="The form expired. Please try again.")
    try:
        signed_in = container().console_sessions.sign_in(email, request.form.get("password", ""), request.remote_addr,
                                                         request.headers.get("User-Agent"), request.form.get("code", ""))
    except SignInRefused as refused:
        status = 429 if isinstance(refused, SignInLocked) else 401
        return _sign_in_page(status, next=target, email=email, sign_in_error=refused.message)
    config = container().config
    response = redirect(target, code=303)
    response.set_cookie(STAFF_COOKIE, signed_in.secret, max_age=config.console_session_hours * 3600, httponly=True,
                        samesite="Strict", secure=secure_cookies(), path=COOKIE_PATH)
    return response


@bp.post("/sign-out")
@console_view()
def sign_out():
    secret = request.cookies.get(STAFF_COOKIE)
    if secret:
        container().console_sessions.sign_out(secret)
    return _signed_out("signed_out")


@bp.post("/sign-out-everywhere")
@console_view()
def sign_out_everywhere():
    """End every console session of the signed-in staff member, on every device."""
    container().console_sessions.sign_out_everywhere(current_staff().staff_id)
    return _signed_out("signed_out_everywhere")


def _sign_in_page(status: int, **context):
    config = container().config
    return page("console/sign_in.html", status, idle_minutes=max(1, config.console_idle_seconds // 60),
                session_hours=config.console_session_hours, **context)


def _signed_out(notice: str):
    response = redirect(url_for("console.sign_in", notice=notice), code=303)
    response.delete_cookie(STAFF_COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict", secure=secure_cookies())
    return response
