"""Patient-facing routes: availability, holds, bookings, and the manage link. Thin: HTTP in,
a use case, HTTP out."""
from __future__ import annotations

import gzip
from json.encoder import encode_basestring_ascii as _text  # json.dumps' own string escaping
from zoneinfo import ZoneInfo

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from kapbook_booking.entrypoints.http.schemas import (
    AvailabilityArgsSchema,
    AvailabilitySchema,
    BookingSchema,
    HoldRequestSchema,
    HoldSchema,
    IdempotencyHeaderSchema,
    ManageBookingSchema,
    RescheduleSchema,
)
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.entrypoints import rate_scopes
from kapbook_booking.service_layer.availability import AvailabilityQuery
from kapbook_booking.service_layer.bookings import BookAppointment, HoldSlot
from kapbook_platform.contracts.http import BookingRequestSchema
from kapbook_platform.web.ratelimit import patient_email_in_json, public_write

blp = Blueprint("bookings", __name__, url_prefix="/api/booking/v1", description="Find a time, book it, manage it")


def staff_actor() -> str:
    principal = current_staff()
    return f"staff:{principal.staff_id}" if principal else "patient"


@blp.route("/availability")
class Availability(MethodView):
    @blp.arguments(AvailabilityArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, AvailabilitySchema)
    def get(self, args):
        """Free slots of an appointment type between two dates, in the given time zone (gzip-compressed
        for clients that accept it)"""
        query = AvailabilityQuery(**args)
        body = container().bookings.availability_answer(
            query, lambda kind, slots, names: AnswerBody(availability_json(kind.code, query.timezone, slots, names)))
        return body.response()


class AnswerBody:
    """A JSON answer and, once a client that accepts gzip asks, its compressed bytes, kept with it in
    the availability cache: a week of a large clinic is ~570 KB of JSON and ~15 KB compressed, and
    compressing once per kept answer costs less than a millisecond."""

    MIN_COMPRESSED = 1400  # below about one packet, compressing saves no round trip

    def __init__(self, text: str) -> None:
        self.text = text
        self._gzipped: bytes | None = None

    def gzipped(self) -> bytes:
        if self._gzipped is None:  # two threads may both compress once: same bytes, no harm
            self._gzipped = gzip.compress(self.text.encode(), compresslevel=3, mtime=0)
        return self._gzipped

    def response(self):
        compress = len(self.text) >= self.MIN_COMPRESSED and request.accept_encodings["gzip"] > 0
        response = current_app.response_class(self.gzipped() if compress else self.text, mimetype="application/json")
        if compress:
            response.headers["Content-Encoding"] = "gzip"
        response.vary.add("Accept-Encoding")
        return response


def availability_json(code: str, zone_name: str, slots, names: dict[str, str]) -> str:
    """The availability body, written directly: a month of a large clinic is thousands of slots,
    but only a few hundred distinct times and a few dozen clinicians and rooms. Each slot is two
    JSON fragments, its times and its people, each written once; the text is what ``json.dumps``
    with compact separators writes for the same body."""
    zone = ZoneInfo(zone_name)

    def times(start, end) -> str:
        return f'{{"start":{_text(start.astimezone(zone).isoformat())},"end":{_text(end.astimezone(zone).isoformat())},'

    def people(clinician_id, location_id, room_id) -> str:
        room = "null" if room_id is None else _text(room_id)
        return (f'"clinician_id":{_text(clinician_id)},"clinician_name":{_text(names.get(clinician_id, ""))},'
                f'"location_id":{_text(location_id)},"room_id":{room}}}')

    heads, tails = _Fragments(times), _Fragments(people)
    # A slot is (start_utc, end_utc, clinician_id, location_id, room_id).
    rows = ",".join([heads[slot[:2]] + tails[slot[2:]] for slot in slots])
    return f'{{"appointment_type":{_text(code)},"timezone":{_text(zone_name)},"slots":[{rows}]}}'


class _Fragments(dict):
    """Memo of JSON fragments: a key missing once is written by ``write(*key)``."""

    def __init__(self, write) -> None:
        super().__init__()
        self._write = write

    def __missing__(self, key):
        fragment = self[key] = self._write(*key)
        return fragment


@blp.route("/holds")
class Holds(MethodView):
    @public_write(blp, scope=rate_scopes.HOLD)
    @blp.arguments(HoldRequestSchema)
    @blp.response(201, HoldSchema)
    @blp.alt_response(409, description="The slot is no longer free (code slot_unavailable)")
    def post(self, body):
        """Hold a slot for a few minutes while the patient fills in the form"""
        return container().bookings.hold(HoldSlot(**body))


@blp.route("/holds/<string:hold_id>")
class HoldById(MethodView):
    @blp.response(204)
    def delete(self, hold_id):
        """Release a hold before it expires"""
        container().bookings.release_hold(hold_id)


@blp.route("/bookings")
class Bookings(MethodView):
    @public_write(blp, scope=rate_scopes.BOOKING, email=patient_email_in_json)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(BookingRequestSchema)
    @blp.response(201, BookingSchema)
    @blp.alt_response(409, description="The slot is no longer free (slot_unavailable) or a hold expired")
    @blp.alt_response(403, description="The screening does not allow this appointment (not_eligible)")
    @blp.alt_response(503, description="Eligibility cannot be checked right now (Retry-After)")
    def post(self, headers, body):
        """Book an appointment (patients, or staff on a patient's behalf)"""
        command = BookAppointment(**body, idempotency_key=headers.get("idempotency_key"), created_by=staff_actor())
        booking, _created = container().bookings.book(command)
        return booking


LINK_REFUSED = "The link is not one we made, or the appointment is over (manage_link_expired)"
LINK_GONE = "The booking behind the link no longer exists (not_found)"


@blp.route("/manage/<string:token>")
class ManageBooking(MethodView):
    @blp.response(200, ManageBookingSchema)
    @blp.alt_response(403, description=LINK_REFUSED)
    @blp.alt_response(404, description=LINK_GONE)
    def get(self, token):
        """The booking behind a manage link"""
        return container().lifecycle.booking_for_token(token)


@blp.route("/manage/<string:token>/cancel")
class CancelByPatient(MethodView):
    @public_write(blp, scope=rate_scopes.MANAGE_CANCEL)
    @blp.response(200, ManageBookingSchema)
    @blp.alt_response(409, description="Too close to the appointment (outside_policy_window) or cancelled already")
    @blp.alt_response(403, description=LINK_REFUSED)
    @blp.alt_response(404, description=LINK_GONE)
    def post(self, token):
        """Cancel with the manage link, within the clinic's notice window"""
        return container().lifecycle.cancel_by_patient(token)


@blp.route("/manage/<string:token>/reschedule")
class RescheduleByPatient(MethodView):
    @public_write(blp, scope=rate_scopes.MANAGE_RESCHEDULE)
    @blp.arguments(RescheduleSchema)
    @blp.response(200, ManageBookingSchema)
    @blp.alt_response(409, description="Too close to the appointment, or the new time is taken")
    @blp.alt_response(403, description=LINK_REFUSED)
    @blp.alt_response(404, description=LINK_GONE)
    def post(self, body, token):
        """Move the appointment with the manage link, within the clinic's notice window"""
        return container().lifecycle.reschedule_by_patient(token, body["start"])
