"""API tokens in the console (administrators): which exist, who they belong to, when they expire,
and revoking one (every service refuses it within seconds)."""
from __future__ import annotations

from flask import redirect, request, url_for

from kapbook_booking.entrypoints.web.console.access import bp, console_view, page
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.errors import NotFound


@bp.get("/credentials")  # not /tokens: paths with "token" are for secrets (nginx redacts them)
@console_view("admin")
def tokens():
    notice = "Token revoked. Every service refuses it within seconds." if request.args.get("notice") == "revoked" else None
    return page("console/tokens.html", tokens=container().tokens.tokens(), notice=notice)


@bp.post("/credentials/<string:credential_id>/revoke")
@console_view("admin")
def revoke_token(credential_id: str):
    try:
        container().tokens.revoke(current_staff().staff_id, credential_id)
    except NotFound as missing:
        return page("console/tokens.html", 404, tokens=container().tokens.tokens(), error=missing.message)
    return redirect(url_for("console.tokens", notice="revoked"), code=303)
