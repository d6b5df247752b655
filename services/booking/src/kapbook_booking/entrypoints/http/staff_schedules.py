"""Staff routes for clinicians' schedules: weekly working hours, date overrides and time off.

Any staff role reads; admins and front desk write any schedule, a clinician linked to a clinician
record writes only their own (else 403 ``not_your_schedule``). Every write is audited.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from kapbook_booking.entrypoints.http.staff_access import SCHEDULE_WRITERS, schedules, staff_only
from kapbook_booking.entrypoints.wiring import current_staff
from kapbook_booking.entrypoints.http.staff_schedules_schemas import (
    OverrideQuerySchema,
    ScheduleOverrideRequestSchema,
    ScheduleOverrideSchema,
    TimeOffAddedSchema,
    TimeOffQuerySchema,
    TimeOffRequestSchema,
    TimeOffSchema,
    WorkingHoursChangeSchema,
    WorkingHoursRequestSchema,
    WorkingHoursSchema,
)
from kapbook_platform.staff.scopes import SCHEDULES

blp = Blueprint(
    "staff_schedules", __name__, url_prefix="/api/booking/v1",
    description="Clinicians' weekly hours, date overrides and time off (staff; writes need admin, front desk or the clinician themselves)",
)
OVERLAP = "Overlaps another interval of the clinician (overlapping_hours / overlapping_override) or invalid"


@blp.route("/clinicians/<string:clinician_id>/working-hours")
class WorkingHours(MethodView):
    @staff_only(blp)
    @blp.response(200, WorkingHoursSchema(many=True))
    @blp.alt_response(404, description="No such clinician")
    def get(self, clinician_id):
        """A clinician's weekly working hours, local to each location (any staff role)"""
        return schedules().working_hours(clinician_id)

    @staff_only(blp, *SCHEDULE_WRITERS, scope=SCHEDULES)
    @blp.arguments(WorkingHoursRequestSchema)
    @blp.response(201, WorkingHoursSchema)
    @blp.alt_response(404, description="No such clinician")
    @blp.alt_response(422, description=OVERLAP)
    def post(self, body, clinician_id):
        """Add a weekly working interval at a location (admin, front desk, the clinician themselves)"""
        return schedules().add_working_hours(current_staff(), clinician_id, body)


@blp.route("/working-hours/<string:hours_id>")
class WorkingHoursById(MethodView):
    @staff_only(blp, *SCHEDULE_WRITERS, scope=SCHEDULES)
    @blp.arguments(WorkingHoursChangeSchema)
    @blp.response(200, WorkingHoursSchema)
    @blp.alt_response(404, description="No such interval")
    @blp.alt_response(422, description=OVERLAP)
    def patch(self, body, hours_id):
        """Change a weekly working interval (admin, front desk, the clinician themselves)"""
        return schedules().update_working_hours(current_staff(), hours_id, body)

    @staff_only(blp, *SCHEDULE_WRITERS, scope=SCHEDULES)
    @blp.response(204)
    @blp.alt_response(404, description="No such interval")
    def delete(self, hours_id):
        """Remove a weekly working interval; booked appointments stay (admin, front desk, the clinician themselves)"""
        schedules().remove_working_hours(current_staff(), hours_id)


@blp.route("/clinicians/<string:clinician_id>/overrides")
class Overrides(MethodView):
    @staff_only(blp)
    @blp.arguments(OverrideQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, ScheduleOverrideSchema(many=True))
    @blp.alt_response(404, description="No such clinician")
    def get(self, query, clinician_id):
        """A clinician's date overrides: closed days and replacement hours (any staff role)"""
        return schedules().overrides(clinician_id, query["since"])

    @staff_only(blp, *SCHEDULE_WRITERS, scope=SCHEDULES)
    @blp.arguments(ScheduleOverrideRequestSchema)
    @blp.response(201, ScheduleOverrideSchema)
    @blp.alt_response(404, description="No such clinician")
    @blp.alt_response(422, description=OVERLAP)
    def post(self, body, clinician_id):
        """Close a date (no times) or replace its hours with an interval at a location (admin, front desk, the clinician themselves)"""
        return schedules().add_override(current_staff(), clinician_id, body)


@blp.route("/overrides/<string:override_id>")
class OverrideById(MethodView):
    @staff_only(blp, *SCHEDULE_WRITERS, scope=SCHEDULES)
    @blp.response(204)
    @blp.alt_response(404, description="No such override")
    def delete(self, override_id):
        """Remove a date override; the weekly hours apply again (admin, front desk, the clinician themselves)"""
        schedules().remove_override(current_staff(), override_id)


@blp.route("/clinicians/<string:clinician_id>/time-off")
class TimeOff(MethodView):
    @staff_only(blp)
    @blp.arguments(TimeOffQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, TimeOffSchema(many=True))
    @blp.alt_response(404, description="No such clinician")
    def get(self, query, clinician_id):
        """A clinician's time off that has not ended (or ends after since) (any staff role)"""
        return schedules().time_off(clinician_id, query["since"])

    @staff_only(blp, *SCHEDULE_WRITERS, scope=SCHEDULES)
    @blp.arguments(TimeOffRequestSchema)
    @blp.response(201, TimeOffAddedSchema)
    @blp.alt_response(404, description="No such clinician")
    def post(self, body, clinician_id):
        """Add time off between two instants; booked appointments in it stay and are listed in
        overlapping_bookings with a warning (admin, front desk, the clinician themselves)"""
        return schedules().add_time_off(current_staff(), clinician_id, body)


@blp.route("/time-off/<string:time_off_id>")
class TimeOffById(MethodView):
    @staff_only(blp, *SCHEDULE_WRITERS, scope=SCHEDULES)
    @blp.response(204)
    @blp.alt_response(404, description="No such time off")
    def delete(self, time_off_id):
        """Remove time off (admin, front desk, the clinician themselves)"""
        schedules().remove_time_off(current_staff(), time_off_id)
