"""API tokens in the console (administrators): which exist, who they belong to, when they expire,
and revoking one (every service refuses it within seconds)."""
from __future__ import annotations

from flask import redirect, request, url_for

from kapbook_booking.entrypoints.web.console.access import bp, console_view, page
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.errors import Invalid, NotFound
from kapbook_platform.staff.scopes import SCOPES

DEFAULT_DAYS = 90  # as kapbook-booking create-staff


@bp.get("/credentials")  # not /tokens: paths with "token" are for secrets (nginx redacts them)
@console_view("admin")
def tokens():
    notice = "Token revoked. Every service refuses it within seconds." if request.args.get("notice") == "revoked" else None
    return _tokens_page(notice=notice)


# --- issuing a scoped token (helper scopes) ----------------------------------------------------------


@bp.post("/credentials")
@console_view("admin")
def issue_token():
    """Issue an API token with the scopes ticked; the token is shown on this answer only."""
    try:
        days = int(request.form.get("expires_days") or DEFAULT_DAYS)
        issued = container().tokens.issue(current_staff(), request.form.get("staff_id", ""),
                                          request.form.getlist("scopes"), days)
    except ValueError:
        return _tokens_page(422, error="Expires in: a whole number of days.")
    except (Invalid, NotFound) as refused:
        return _tokens_page(422 if isinstance(refused, Invalid) else 404, error=refused.message)
    return _tokens_page(201, issued=issued)


def _tokens_page(status: int = 200, **context):
    return page("console/tokens.html", status, tokens=container().tokens.tokens(), members=container().accounts.members(),
                scopes=SCOPES, default_days=DEFAULT_DAYS, **context)


@bp.post("/credentials/<string:credential_id>/revoke")
@console_view("admin")
def revoke_token(credential_id: str):
    try:
        container().tokens.revoke(current_staff().staff_id, credential_id)
    except NotFound as missing:
        return _tokens_page(404, error=missing.message)
    return redirect(url_for("console.tokens", notice="revoked"), code=303)
