"""Booking routes: thin, they turn HTTP into commands for the service layer."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_booking.entrypoints.http.schemas import BookingSchema, IdempotencyHeaderSchema
from kapbook_booking.service_layer.bookings import BookAppointment
from kapbook_platform.contracts.http import BookingRequestSchema
from kapbook_platform.web.errors import NotFound

blp = Blueprint("bookings", __name__, url_prefix="/api/booking/v1", description="Book, view and manage appointments")


def _container():
    return current_app.extensions["kapbook_booking"]


@blp.route("/bookings")
class Bookings(MethodView):
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(BookingRequestSchema)
    @blp.response(201, BookingSchema)
    @blp.alt_response(409, description="The slot is no longer free (code slot_unavailable)")
    def post(self, headers, body):
        """Book an appointment"""
        command = BookAppointment(**body, idempotency_key=headers.get("idempotency_key"))
        booking, _created = _container().bookings.book(command)
        return booking


@blp.route("/bookings/<string:booking_id>")
class BookingById(MethodView):
    @blp.response(200, BookingSchema)
    def get(self, booking_id):
        """Read a booking (staff)"""
        container = _container()
        with container.runtime.sessions() as session:
            booking = container.bookings.view(session, booking_id)
        if booking is None:
            raise NotFound("There is no such booking.")
        return booking
