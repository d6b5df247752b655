"""Two-step verification in the console: set up an authenticator (QR code drawn here, no outside
service), confirm it with a code, see the recovery codes once, reset it for a new phone.

Turning it on or resetting it needs the password typed within the last five minutes; the form asks
for it again when it was not.
"""
from __future__ import annotations

import segno
from flask import redirect, request, url_for
from markupsafe import Markup

from kapbook_booking.entrypoints.web.console.access import STAFF_COOKIE, bp, console_view, page
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.two_step import WrongCode

REAUTH_MESSAGE = "Type your password again: changing two-step verification needs it within the last five minutes."


def qr_svg(uri: str) -> Markup:
    """The otpauth URI as an inline SVG QR code (segno: no image library, nothing fetched)."""
    return Markup(segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#000", light="#fff",
                                                        title="QR code for your authenticator app"))


def _session_secret() -> str | None:
    return request.cookies.get(STAFF_COOKIE)


def _needs_password() -> bool:
    return not container().console_sessions.recently_authenticated(_session_secret())


@bp.get("/two-step")
@console_view()
def two_step():
    staff = current_staff()
    service = container().two_step
    status = service.status(staff.staff_id)
    if status.enabled:
        return page("console/two_step.html", state=status, needs_password=_needs_password(), notice=_notice())
    enrolment = service.enrolment(staff.staff_id)
    return page("console/two_step.html", state=status, enrolment=enrolment, qr=qr_svg(enrolment.uri),
                required=service.required, needs_password=_needs_password(), notice=_notice())


@bp.post("/two-step")
@console_view()
def two_step_confirm():
    staff = current_staff()
    service = container().two_step
    if not container().console_sessions.confirm_recent(_session_secret(), request.form.get("password", "")):
        return _again(400, REAUTH_MESSAGE)
    try:
        codes = service.confirm(staff.staff_id, request.form.get("code", ""))
    except WrongCode as wrong:
        return _again(422, wrong.message)
    return page("console/recovery_codes.html", codes=codes)


@bp.post("/two-step/reset")
@console_view()
def two_step_reset():
    if not container().console_sessions.confirm_recent(_session_secret(), request.form.get("password", "")):
        return _again(400, REAUTH_MESSAGE)
    container().two_step.reset(current_staff().staff_id)
    return redirect(url_for("console.two_step", notice="reset"), code=303)


def _again(status: int, message: str):
    staff = current_staff()
    service = container().two_step
    state = service.status(staff.staff_id)
    context = {"state": state, "error": message, "needs_password": _needs_password()}
    if not state.enabled:
        enrolment = service.enrolment(staff.staff_id)
        context |= {"enrolment": enrolment, "qr": qr_svg(enrolment.uri), "required": service.required}
    return page("console/two_step.html", status, **context)


def _notice() -> str | None:
    return {"reset": "Two-step verification is off. Set it up again with your new phone."}.get(request.args.get("notice", ""))
