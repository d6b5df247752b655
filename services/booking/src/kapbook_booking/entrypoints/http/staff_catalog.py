"""Staff routes for the clinic's catalogue: locations, rooms and chairs, appointment types, clinicians.

Any staff role reads; only admins write. Every write is audited.
"""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from kapbook_booking.entrypoints.http.staff_access import ADMIN, calendar_feeds, catalog, staff_only
from kapbook_booking.entrypoints.wiring import current_staff
from kapbook_booking.entrypoints.http.staff_catalog_schemas import (
    AppointmentTypeChangeSchema,
    AppointmentTypeRequestSchema,
    AppointmentTypeSchema,
    CalendarFeedLinkSchema,
    ClinicianChangeSchema,
    ClinicianRequestSchema,
    ClinicianSchema,
    LocationChangeSchema,
    LocationRequestSchema,
    LocationSchema,
    RoomChangeSchema,
    RoomQuerySchema,
    RoomRequestSchema,
    RoomSchema,
)
from kapbook_platform.staff.scopes import SCHEDULES

blp = Blueprint(
    "staff_catalog", __name__, url_prefix="/api/booking/v1",
    description="Locations, rooms and chairs, appointment types and clinicians (staff; writes need admin)",
)
IN_USE = "Still in use (code in_use); the message says by what"


@blp.route("/locations")
class Locations(MethodView):
    @staff_only(blp)
    @blp.response(200, LocationSchema(many=True))
    def get(self):
        """List locations (any staff role)"""
        return catalog().locations()

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(LocationRequestSchema)
    @blp.response(201, LocationSchema)
    def post(self, body):
        """Create a location with its IANA time zone (admin)"""
        return catalog().create_location(current_staff(), body)


@blp.route("/locations/<string:location_id>")
class LocationById(MethodView):
    @staff_only(blp)
    @blp.response(200, LocationSchema)
    @blp.alt_response(404, description="No such location")
    def get(self, location_id):
        """Read a location (any staff role)"""
        return catalog().location(location_id)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(LocationChangeSchema)
    @blp.response(200, LocationSchema)
    @blp.alt_response(404, description="No such location")
    def patch(self, body, location_id):
        """Change a location's name, zone or address (admin)"""
        return catalog().update_location(current_staff(), location_id, body)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.response(204)
    @blp.alt_response(404, description="No such location")
    @blp.alt_response(409, description=IN_USE)
    def delete(self, location_id):
        """Delete a location without rooms, hours or bookings (admin)"""
        catalog().delete_location(current_staff(), location_id)


@blp.route("/rooms")
class Rooms(MethodView):
    @staff_only(blp)
    @blp.arguments(RoomQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, RoomSchema(many=True))
    def get(self, query):
        """List rooms and chairs, optionally at one location (any staff role)"""
        return catalog().rooms(query["location_id"])

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(RoomRequestSchema)
    @blp.response(201, RoomSchema)
    def post(self, body):
        """Add a room or chair of a kind (infusion_chair, dosing_room, ...) at a location (admin)"""
        return catalog().create_room(current_staff(), body)


@blp.route("/rooms/<string:room_id>")
class RoomById(MethodView):
    @staff_only(blp)
    @blp.response(200, RoomSchema)
    @blp.alt_response(404, description="No such room")
    def get(self, room_id):
        """Read a room or chair (any staff role)"""
        return catalog().room(room_id)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(RoomChangeSchema)
    @blp.response(200, RoomSchema)
    @blp.alt_response(404, description="No such room")
    def patch(self, body, room_id):
        """Rename, re-kind, deactivate or reactivate a room or chair (admin)"""
        return catalog().update_room(current_staff(), room_id, body)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.response(204)
    @blp.alt_response(404, description="No such room")
    @blp.alt_response(409, description=IN_USE)
    def delete(self, room_id):
        """Delete a room or chair that was never booked; deactivate it otherwise (admin)"""
        catalog().delete_room(current_staff(), room_id)


@blp.route("/appointment-types")
class AppointmentTypes(MethodView):
    @staff_only(blp)
    @blp.response(200, AppointmentTypeSchema(many=True))
    def get(self):
        """List appointment types, inactive ones included (any staff role)"""
        return catalog().appointment_types()

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(AppointmentTypeRequestSchema)
    @blp.response(201, AppointmentTypeSchema)
    @blp.alt_response(409, description="The code is taken (code_taken)")
    def post(self, body):
        """Create an appointment type (admin)"""
        return catalog().create_appointment_type(current_staff(), body)


@blp.route("/appointment-types/<string:type_id>")
class AppointmentTypeById(MethodView):
    @staff_only(blp)
    @blp.response(200, AppointmentTypeSchema)
    @blp.alt_response(404, description="No such appointment type")
    def get(self, type_id):
        """Read an appointment type (any staff role)"""
        return catalog().appointment_type(type_id)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(AppointmentTypeChangeSchema)
    @blp.response(200, AppointmentTypeSchema)
    @blp.alt_response(404, description="No such appointment type")
    @blp.alt_response(409, description="The new code is taken (code_taken)")
    def patch(self, body, type_id):
        """Change an appointment type; existing bookings keep their times (admin)"""
        return catalog().update_appointment_type(current_staff(), type_id, body)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.response(204)
    @blp.alt_response(404, description="No such appointment type")
    @blp.alt_response(409, description=IN_USE)
    def delete(self, type_id):
        """Delete an appointment type that was never booked; deactivate it otherwise (admin)"""
        catalog().delete_appointment_type(current_staff(), type_id)


@blp.route("/clinicians")
class Clinicians(MethodView):
    @staff_only(blp)
    @blp.response(200, ClinicianSchema(many=True))
    def get(self):
        """List clinicians with the types they deliver and where they work (any staff role)"""
        return catalog().clinicians()

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(ClinicianRequestSchema)
    @blp.response(201, ClinicianSchema)
    def post(self, body):
        """Add a clinician (prescriber, therapist or nurse) and the types they deliver (admin)"""
        return catalog().create_clinician(current_staff(), body)


@blp.route("/clinicians/<string:clinician_id>")
class ClinicianById(MethodView):
    @staff_only(blp)
    @blp.response(200, ClinicianSchema)
    @blp.alt_response(404, description="No such clinician")
    def get(self, clinician_id):
        """Read a clinician (any staff role)"""
        return catalog().clinician(clinician_id)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(ClinicianChangeSchema)
    @blp.response(200, ClinicianSchema)
    @blp.alt_response(404, description="No such clinician")
    def patch(self, body, clinician_id):
        """Change a clinician; appointment_types replaces the set they deliver (admin)"""
        return catalog().update_clinician(current_staff(), clinician_id, body)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.response(204)
    @blp.alt_response(404, description="No such clinician")
    @blp.alt_response(409, description=IN_USE)
    def delete(self, clinician_id):
        """Delete a clinician who was never booked, with their hours and time off; deactivate otherwise (admin)"""
        catalog().delete_clinician(current_staff(), clinician_id)


@blp.route("/clinicians/<string:clinician_id>/calendar-feed")
class ClinicianCalendarFeed(MethodView):
    @staff_only(blp, *ADMIN)
    @blp.response(200, CalendarFeedLinkSchema)
    @blp.alt_response(404, description="No such clinician")
    def get(self, clinician_id):
        """The secret iCalendar feed URL of a clinician (admin)"""
        return calendar_feeds().link(clinician_id)

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.response(200, CalendarFeedLinkSchema)
    @blp.alt_response(404, description="No such clinician")
    def post(self, clinician_id):
        """Regenerate a clinician's feed URL; the old URL stops working at once (admin)"""
        return calendar_feeds().regenerate(current_staff(), clinician_id)
