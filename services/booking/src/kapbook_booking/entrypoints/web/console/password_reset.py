"""Forgot password: ask for a one-time link by email, then choose a new password with it.

The link's secret is in the path; the services' request log records the route pattern, never the
path, deploy/nginx.conf redacts it from the access log, and the pages send no Referer (private page
headers), so the secret stays out of logs and other sites.
"""
from __future__ import annotations

from flask import redirect, request, url_for

from kapbook_booking.entrypoints.web.console.access import bp, csrf_ok, page
from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.errors import BookingError

SENT = ("If that email belongs to a staff account, a link to choose a new password is on its way. "
        "It works once, for 30 minutes.")
EXPIRED = "This link has expired or was used already. Ask for a new one."
GONE = 410  # an expired or spent link: gone for good, whoever asks


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    if request.method == "GET":
        return page("console/forgot_password.html")
    if not csrf_ok():
        return page("console/forgot_password.html", 400, error="The form expired. Please try again.")
    container().password_resets.request(request.form.get("email", ""), request.remote_addr)
    return page("console/forgot_password.html", notice=SENT, sent=True)


@bp.route("/reset-password/<string:token>", methods=["GET", "POST"])
def reset_password(token: str):
    secret = token  # named token: routes with a token in the path get nginx's log redaction
    resets = container().password_resets
    if request.method == "GET":
        if not resets.is_live(secret):
            return page("console/reset_password.html", GONE, expired=True, error=EXPIRED)
        return page("console/reset_password.html", secret=secret)
    if not csrf_ok():
        return page("console/reset_password.html", 400, secret=secret, error="The form expired. Please try again.")
    try:
        resets.reset(secret, request.form.get("password", ""), request.remote_addr)
    except BookingError as refused:
        expired = refused.errors is None
        return page("console/reset_password.html", GONE if expired else 422, secret=None if expired else secret,
                    expired=expired, error=refused.message, field_errors=refused.errors or {})
    return redirect(url_for("console.sign_in", notice="password_reset"), code=303)
