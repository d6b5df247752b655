"""The staff calendar: a day or a week of one clinician or one room, in the viewer's time zone."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import request
from flask_smorest import Blueprint
from marshmallow import RAISE

from kapbook_booking.entrypoints.http.staff_access import staff_calendar, staff_only
from kapbook_booking.entrypoints.http.staff_calendar_schemas import CalendarQuerySchema, CalendarSchema
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.staff_calendar import CalendarQuery

blp = Blueprint("staff_calendar", __name__, url_prefix="/api/booking/v1", description="Day and week calendars (staff)")


@blp.route("/calendar")
@staff_only(blp)
@blp.arguments(CalendarQuerySchema, location="query", unknown=RAISE)
@blp.response(200, CalendarSchema)
@blp.alt_response(404, description="No such clinician or room")
def calendar(query):
    """Bookings (holds included), time off and working intervals of a day or week, by clinician or room (any staff role)"""
    zone = ZoneInfo(query.pop("timezone"))
    view = staff_calendar().view(CalendarQuery(zone=zone, **query))
    audit_calendar_read(query.get("clinician_id"), query.get("room_id"))
    return view


def audit_calendar_read(clinician_id: str | None, room_id: str | None) -> None:
    """One audit row per calendar read, naming whose calendar (a clinician's or a room's)."""
    subject = f"clinician:{clinician_id}" if clinician_id else f"room:{room_id}"
    container().audit_trail.staff_read(current_staff(), "calendar", subject, request.remote_addr)
