"""Signing in to the console with a staff token, and signing out."""
from __future__ import annotations

from flask import redirect, request, url_for

from kapbook_booking.entrypoints.web.console.access import (
    SIGNED_IN_SECONDS,
    STAFF_COOKIE,
    bp,
    console_view,
    csrf_ok,
    page,
    safe_next,
    secure_cookies,
)
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_platform.staff.principal import authenticate

NOTICES = {"signed_out": "You are signed out."}


@bp.get("/")
@console_view()
def home():
    return redirect(url_for("console.calendar"))


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """A form that takes a staff token (``make staff-token`` prints one) and keeps it in a cookie."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_staff() is not None:
            return redirect(target)
        return page("console/sign_in.html", next=target, notice=NOTICES.get(request.args.get("notice", "")))
    if not csrf_ok():
        return page("console/sign_in.html", 400, next=target, token_error="The form expired. Please try again.")
    token = request.form.get("token", "").strip()
    runtime = container().runtime
    with runtime.sessions() as session:
        staff = authenticate(session, runtime.tables["staff_credentials"], token) if token else None
    if staff is None:
        return page("console/sign_in.html", 401, next=target,
                    token_error="That token is not valid, or it was revoked. Ask an administrator for a new one.")
    response = redirect(target, code=303)
    response.set_cookie(STAFF_COOKIE, token, max_age=SIGNED_IN_SECONDS, httponly=True, samesite="Strict",
                        secure=secure_cookies(), path="/")
    return response


@bp.post("/sign-out")
@console_view()
def sign_out():
    response = redirect(url_for("console.sign_in", notice="signed_out"), code=303)
    response.delete_cookie(STAFF_COOKIE, path="/", httponly=True, samesite="Strict", secure=secure_cookies())
    return response
