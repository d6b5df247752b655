"""Staff accounts in the console (administrators): who can sign in, and adding someone. Adding a
staff member is sensitive: it needs the password typed within the last five minutes."""
from __future__ import annotations

from flask import redirect, request, url_for

from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.entrypoints.http.staff_access import catalog
from kapbook_booking.entrypoints.web.console.access import STAFF_COOKIE, bp, console_view, page
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.errors import BookingError
from kapbook_platform.staff.principal import ROLES

ADMIN = ("admin",)
FIELDS = ("name", "email", "role")


@bp.get("/team")
@console_view(*ADMIN)
def team():
    notices = {"added": "Staff member added.", "linked": "Clinician link saved."}
    return _team_page(200, notice=notices.get(request.args.get("notice", "")))


@bp.post("/team")
@console_view(*ADMIN)
def add_team_member():
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    if not container().console_sessions.confirm_recent(request.cookies.get(STAFF_COOKIE), request.form.get("your_password", "")):
        return _team_page(400, values=values, error="Type your own password again: adding staff needs it within the last five minutes.")
    try:
        container().accounts.create(current_staff(), values["name"], values["email"], values["role"],
                                    request.form.get("password", ""))
    except BookingError as refused:
        return _team_page(422 if refused.errors else 409, values=values, error=refused.message, field_errors=refused.errors or {})
    return redirect(url_for("console.team", notice="added"), code=303)


# --- linking a clinician's account to their clinician record (clin) ---------------------------------


@bp.post("/team/<string:staff_id>/clinician")
@console_view(*ADMIN)
def link_clinician(staff_id: str):
    """Link (or with an empty choice unlink) a clinician's account to a clinician record."""
    try:
        container().accounts.link_clinician(current_staff(), staff_id, request.form.get("clinician_id", "").strip() or None)
    except BookingError as refused:
        return _team_page(http_status(refused), error=refused.message)
    return redirect(url_for("console.team", notice="linked"), code=303)


def _team_page(status: int, **context):
    needs_password = not container().console_sessions.recently_authenticated(request.cookies.get(STAFF_COOKIE))
    return page("console/team.html", status, members=container().accounts.members(), roles=ROLES,
                clinicians=catalog().clinicians(),
                needs_password=needs_password, values=context.pop("values", {}), field_errors=context.pop("field_errors", {}),
                **context)
