"""Treatment protocols and series: the public protocol list, a proposed plan, booking a whole plan
at once, the series behind a manage link, and the staff routes (protocol writes, read, cancel)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE

from kapbook_booking.entrypoints import rate_scopes
from kapbook_booking.entrypoints.http.schemas import IdempotencyHeaderSchema
from kapbook_booking.entrypoints.http.series_schemas import (
    ManageSeriesSchema,
    ProposalArgsSchema,
    ProposalSchema,
    ProtocolChangeSchema,
    ProtocolQuerySchema,
    ProtocolRequestSchema,
    ProtocolSchema,
    SeriesCancelSchema,
    SeriesRequestSchema,
    SeriesSchema,
)
from kapbook_booking.entrypoints.http.staff_access import ADMIN, staff_only
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.series import BookSeries, ProposeSeries, SeriesService
from kapbook_platform.staff.scopes import BOOKINGS, SCHEDULES, allows
from kapbook_platform.web.errors import Forbidden
from kapbook_platform.web.ratelimit import patient_email_in_json, public_write

blp = Blueprint("series", __name__, url_prefix="/api/booking/v1",
                description="Treatment protocols and series: plan a course of sessions and book it at once")
LINK_REFUSED = "The link is not one we made, or the appointment is over (manage_link_expired)"
NOT_IN_SERIES = "No such series, or the booking is not part of one (not_found)"
UNAVAILABLE = "Some session cannot be had (series_unavailable); errors.sessions has a reason per position"


def series() -> SeriesService:
    return container().series


@blp.route("/protocols")
class Protocols(MethodView):
    @blp.arguments(ProtocolQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, ProtocolSchema(many=True))
    def get(self, query):
        """Active treatment protocols, optionally of one appointment type (public)"""
        return series().protocols(query.get("appointment_type"))

    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(ProtocolRequestSchema)
    @blp.response(201, ProtocolSchema)
    @blp.alt_response(409, description="The code is taken (code_taken)")
    def post(self, body):
        """Create a treatment protocol (admin, audited)"""
        return series().create_protocol(current_staff(), body)


@blp.route("/protocols/<string:protocol_id>")
class ProtocolById(MethodView):
    @staff_only(blp, *ADMIN, scope=SCHEDULES)
    @blp.arguments(ProtocolChangeSchema)
    @blp.response(200, ProtocolSchema)
    @blp.alt_response(404, description="No such protocol")
    @blp.alt_response(409, description="The new code is taken (code_taken)")
    def patch(self, body, protocol_id):
        """Change a protocol; series booked already keep their sessions (admin, audited)"""
        return series().update_protocol(current_staff(), protocol_id, body)


@blp.route("/series/proposals")
class Proposals(MethodView):
    @blp.arguments(ProposalArgsSchema, location="query", unknown=RAISE)
    @blp.response(200, ProposalSchema)
    @blp.alt_response(409, description="No whole plan exists from this first session (series_unavailable); "
                                        "errors.sessions has a reason per position")
    def get(self, args):
        """The whole plan of a protocol from its first session: same wall-clock time, same clinician and chair
        where possible, else the fewest changes; 422 for an unknown protocol or a start outside the horizon"""
        return series().propose(ProposeSeries(**args))


@blp.route("/series")
class SeriesCollection(MethodView):
    # A series is a booking too: one count with POST /bookings, per network and per patient email.
    @public_write(blp, scope=rate_scopes.BOOKING, email=patient_email_in_json)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(SeriesRequestSchema)
    @blp.response(201, SeriesSchema)
    @blp.alt_response(409, description=UNAVAILABLE + "; nothing is created")
    @blp.alt_response(403, description="The screening does not allow this treatment (not_eligible), or an "
                                       "override_reason without a staff token (override_needs_staff)")
    @blp.alt_response(503, description="Eligibility cannot be checked right now (Retry-After)")
    def post(self, headers, body):
        """Book every session of a plan in one transaction, or none (patients; staff may add override_reason)"""
        sessions = tuple((item["start"], item["clinician_id"]) for item in body.pop("sessions"))
        staff = current_staff()
        if staff is not None and body.get("override_reason") and not allows(staff.scopes, BOOKINGS):
            # A staff override is a staff write to bookings: the token needs that scope.
            raise Forbidden("This token's scopes do not allow this: it needs bookings.", code="insufficient_scope",
                            errors={"scope": ["bookings"]})
        command = BookSeries(**body, sessions=sessions, idempotency_key=headers.get("idempotency_key"), staff=staff)
        view, _created = series().book(command)
        return view


@blp.route("/series/<string:series_id>")
class SeriesById(MethodView):
    @staff_only(blp)
    @blp.response(200, SeriesSchema)
    @blp.alt_response(404, description=NOT_IN_SERIES)
    def get(self, series_id):
        """Read a series with every session (staff)"""
        return series().view_by_id(series_id)


@blp.route("/series/<string:series_id>/cancel-remaining")
class StaffCancelRemaining(MethodView):
    @staff_only(blp, scope=BOOKINGS)
    @blp.arguments(SeriesCancelSchema)
    @blp.response(200, SeriesSchema)
    @blp.alt_response(404, description=NOT_IN_SERIES)
    @blp.alt_response(409, description="No remaining sessions (invalid_status_change)")
    def post(self, body, series_id):
        """Cancel every future session of a series at any notice, with a recorded reason (staff, audited)"""
        return series().cancel_remaining_by_staff(series_id, current_staff(), body["reason"])


@blp.route("/manage/<string:token>/series")
class ManageSeries(MethodView):
    @blp.response(200, ManageSeriesSchema)
    @blp.alt_response(403, description=LINK_REFUSED)
    @blp.alt_response(404, description=NOT_IN_SERIES)
    def get(self, token):
        """The series of the session behind a manage link"""
        return series().view_for_token(token)


@blp.route("/manage/<string:token>/series/cancel-remaining")
class ManageCancelRemaining(MethodView):
    @public_write(blp, scope=rate_scopes.MANAGE_CANCEL)
    @blp.response(200, ManageSeriesSchema)
    @blp.alt_response(403, description=LINK_REFUSED)
    @blp.alt_response(404, description=NOT_IN_SERIES)
    @blp.alt_response(409, description="No remaining sessions, or all too close (outside_policy_window)")
    def post(self, token):
        """Cancel the remaining sessions the cancellation policy allows; past and too-close ones stay"""
        return series().cancel_remaining_by_patient(token)
