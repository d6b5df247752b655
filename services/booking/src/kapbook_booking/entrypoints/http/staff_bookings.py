"""Staff routes over bookings: read, cancel or reschedule with a reason, record the visit."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_booking.entrypoints.http.schemas import BookingSchema, StaffCancelSchema, StaffRescheduleSchema
from kapbook_booking.entrypoints.http.staff_access import staff_only
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_platform.staff.scopes import BOOKINGS
from kapbook_platform.web.errors import NotFound

blp = Blueprint("staff_bookings", __name__, url_prefix="/api/booking/v1", description="Staff actions on bookings")
NO_BOOKING = "No such booking (not_found)"


@blp.route("/bookings/<string:booking_id>")
class BookingById(MethodView):
    @staff_only(blp)
    @blp.response(200, BookingSchema)
    @blp.alt_response(404, description=NO_BOOKING)
    def get(self, booking_id):
        """Read a booking (staff)"""
        with container().runtime.sessions() as session:
            booking = container().bookings.view(session, booking_id)
        if booking is None:
            raise NotFound("There is no such booking.")
        container().audit_trail.staff_read(current_staff(), "booking", booking_id, request.remote_addr)
        return booking


@blp.route("/bookings/<string:booking_id>/cancel")
class StaffCancel(MethodView):
    @staff_only(blp, scope=BOOKINGS)
    @blp.arguments(StaffCancelSchema)
    @blp.response(200, BookingSchema)
    @blp.alt_response(404, description=NO_BOOKING)
    @blp.alt_response(409, description="Cancelled or over already (invalid_status_change)")
    def post(self, body, booking_id):
        """Cancel a booking at any time, with a reason that is recorded (staff)"""
        return container().lifecycle.cancel_by_staff(booking_id, current_staff(), body["reason"])


@blp.route("/bookings/<string:booking_id>/reschedule")
class StaffReschedule(MethodView):
    @staff_only(blp, scope=BOOKINGS)
    @blp.arguments(StaffRescheduleSchema)
    @blp.response(200, BookingSchema)
    @blp.alt_response(404, description=NO_BOOKING)
    @blp.alt_response(409, description="Not a booked appointment any more (invalid_status_change), or the new time is taken")
    def post(self, body, booking_id):
        """Move a booking, overriding the patient's notice window, with a recorded reason (staff)"""
        return container().lifecycle.reschedule_by_staff(booking_id, body["start"], current_staff(), body["reason"])


# --- manage-link rotation (issue 14 finding 4) ----------------------------------------------------
@blp.route("/bookings/<string:booking_id>/rotate-manage-link")
class RotateManageLink(MethodView):
    @staff_only(blp, scope=BOOKINGS)
    @blp.response(200, BookingSchema)
    @blp.alt_response(404, description=NO_BOOKING)
    def post(self, booking_id):
        """End every manage link of the booking at once and issue a new one, in `manage_url` (staff, audited)"""
        return container().lifecycle.rotate_manage_link(booking_id, current_staff())


def _visit_route(action: str, summary: str):
    @staff_only(blp, scope=BOOKINGS)
    @blp.response(200, BookingSchema)
    @blp.alt_response(404, description=NO_BOOKING)
    @blp.alt_response(409, description="Not possible from the booking's status (invalid_status_change)")
    def post(self, booking_id):
        return container().lifecycle.record_visit(booking_id, action, current_staff())

    post.__doc__ = summary
    return type(f"Visit{action.title().replace('_', '')}", (MethodView,), {"post": post})


blp.route("/bookings/<string:booking_id>/arrive")(_visit_route("arrive", "Mark the patient as arrived (staff)"))
blp.route("/bookings/<string:booking_id>/complete")(_visit_route("complete", "Mark the appointment as fulfilled (staff)"))
blp.route("/bookings/<string:booking_id>/no-show")(_visit_route("no_show", "Mark a no-show (staff)"))
