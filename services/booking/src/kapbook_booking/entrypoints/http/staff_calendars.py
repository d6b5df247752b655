"""Staff routes for clinicians' own calendars (CalDAV): a clinician connects their own, an admin
anyone's, the front desk reads. Every write is audited; the password is never shown back."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_booking.entrypoints.http.staff_access import ADMIN, staff_only
from kapbook_booking.entrypoints.http.staff_calendars_schemas import (
    BusyRangeSchema,
    CalendarConnectionChangeSchema,
    CalendarConnectionRequestSchema,
    CalendarConnectionSchema,
)
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.calendars import CalendarConnections
from kapbook_platform.staff.scopes import SCHEDULES

blp = Blueprint(
    "staff_calendars", __name__, url_prefix="/api/booking/v1",
    description="Clinicians' own calendars over CalDAV: busy times block availability; bookings can be written in "
                "(writes: admin or the clinician themselves)",
)
CALENDAR_WRITERS = ADMIN + ("clinician",)


def calendars() -> CalendarConnections:
    return container().calendars


@blp.route("/clinicians/<string:clinician_id>/calendar-connections")
class ClinicianCalendars(MethodView):
    @staff_only(blp)
    @blp.response(200, CalendarConnectionSchema(many=True))
    @blp.alt_response(404, description="No such clinician")
    def get(self, clinician_id):
        """List a clinician's connected calendars with their sync state"""
        return calendars().list_for(current_staff(), clinician_id)

    @staff_only(blp, *CALENDAR_WRITERS, scope=SCHEDULES)
    @blp.arguments(CalendarConnectionRequestSchema)
    @blp.response(201, CalendarConnectionSchema)
    @blp.alt_response(404, description="No such clinician")
    def post(self, body, clinician_id):
        """Connect a CalDAV calendar; it syncs within seconds (admin or the clinician)"""
        return calendars().create(current_staff(), clinician_id, body)


@blp.route("/calendar-connections/<string:connection_id>")
class CalendarById(MethodView):
    @staff_only(blp)
    @blp.response(200, CalendarConnectionSchema)
    @blp.alt_response(404, description="No such connection")
    def get(self, connection_id):
        """Read a connected calendar's sync state"""
        return calendars().get(current_staff(), connection_id)

    @staff_only(blp, *CALENDAR_WRITERS, scope=SCHEDULES)
    @blp.arguments(CalendarConnectionChangeSchema)
    @blp.response(200, CalendarConnectionSchema)
    @blp.alt_response(404, description="No such connection")
    def patch(self, body, connection_id):
        """Change the URL, credentials, zone or pushing; pause or resume (admin or the clinician)"""
        return calendars().update(current_staff(), connection_id, body)

    @staff_only(blp, *CALENDAR_WRITERS, scope=SCHEDULES)
    @blp.response(204)
    @blp.alt_response(404, description="No such connection")
    def delete(self, connection_id):
        """Disconnect: its busy times stop blocking at once (admin or the clinician)"""
        calendars().delete(current_staff(), connection_id)


@blp.route("/calendar-connections/<string:connection_id>/sync")
class SyncNow(MethodView):
    @staff_only(blp, *CALENDAR_WRITERS, scope=SCHEDULES)
    @blp.response(200, CalendarConnectionSchema)
    @blp.alt_response(404, description="No such connection")
    def post(self, connection_id):
        """Sync now and retry failed pushes; the answer shows the outcome (admin or the clinician)"""
        return calendars().sync_now(current_staff(), connection_id)


@blp.route("/calendar-connections/<string:connection_id>/busy")
class BusyTimes(MethodView):
    @staff_only(blp)
    @blp.response(200, BusyRangeSchema(many=True))
    @blp.alt_response(404, description="No such connection")
    def get(self, connection_id):
        """The busy times the last good sync stored (times only: no titles are kept)"""
        return calendars().busy(current_staff(), connection_id)
