"""The waitlist's routes: patients join and leave it and claim or decline offers (by their emailed
links); staff see each type's waitlist and offer a slot by hand. Thin: HTTP in, a use case, HTTP out."""
from __future__ import annotations

from datetime import time

from flask.views import MethodView
from flask_smorest import Blueprint

from kapbook_booking.domain.waitlist import window_from
from kapbook_booking.entrypoints import rate_scopes
from kapbook_booking.entrypoints.http.bookings import staff_actor
from kapbook_booking.entrypoints.http.schemas import BookingSchema
from kapbook_booking.entrypoints.http.staff_access import staff_only
from kapbook_booking.entrypoints.http.waitlist_schemas import (
    ClaimOfferSchema,
    StaffOfferRequestSchema,
    StaffWaitlistArgsSchema,
    StaffWaitlistSchema,
    WaitlistEntrySchema,
    WaitlistJoinedSchema,
    WaitlistOfferSchema,
)
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.waitlist import JoinWaitlist
from kapbook_platform.contracts.http import WaitlistJoinRequestSchema
from kapbook_platform.staff.scopes import BOOKINGS
from kapbook_platform.web.ratelimit import patient_email_in_json, public_write

blp = Blueprint("waitlist", __name__, url_prefix="/api/booking/v1", description="The waitlist: wait for a time, claim an offer")
OFFER_REFUSED = "The offer link is unknown, or the offer has ended (waitlist_offer_unusable)"


def join_command(body: dict, created_by: str) -> JoinWaitlist:
    windows = tuple(window_from(w["weekdays"], time.fromisoformat(w["start"]), time.fromisoformat(w["end"]))
                    for w in body["windows"])
    return JoinWaitlist(
        appointment_type=body["appointment_type"], patient=body["patient"], windows=windows,
        clinician_id=body["clinician_id"] or None, location_id=body["location_id"] or None, earliest=body["earliest_date"],
        latest=body["latest_date"], screening_id=body["screening_id"], created_by=created_by,
        patient_proof=body["patient_proof"],
    )


@blp.route("/waitlist")
class Waitlist(MethodView):
    @public_write(blp, scope=rate_scopes.WAITLIST_JOIN, email=patient_email_in_json)
    @blp.arguments(WaitlistJoinRequestSchema)
    @blp.response(201, WaitlistJoinedSchema)
    @blp.alt_response(403, description="The screening does not allow this appointment type (not_eligible)")
    def post(self, body):
        """Join the waitlist (patients, or staff for them): a held offer is emailed when a time that suits opens up"""
        return container().waitlist.join(join_command(body, staff_actor()))

    @staff_only(blp)
    @blp.arguments(StaffWaitlistArgsSchema, location="query")
    @blp.response(200, StaffWaitlistSchema)
    def get(self, args):
        """One appointment type's waitlist with each entry's windows and offer history (staff)"""
        return container().waitlist.waitlist_of(args["appointment_type"], args["include_closed"])


@blp.route("/waitlist/entries/<string:entry_id>")
class StaffWaitlistEntry(MethodView):
    @staff_only(blp, scope=BOOKINGS)
    @blp.response(204)
    @blp.alt_response(404, description="No such waitlist entry (not_found)")
    def delete(self, entry_id):
        """Take a patient off the waitlist (an offer they hold passes to the next in line) (staff)"""
        container().waitlist.remove_by_staff(entry_id, current_staff())


@blp.route("/waitlist/entries/<string:entry_id>/offers")
class StaffOffer(MethodView):
    @staff_only(blp, scope=BOOKINGS)
    @blp.arguments(StaffOfferRequestSchema)
    @blp.response(201, WaitlistOfferSchema)
    @blp.alt_response(404, description="No such waitlist entry (not_found)")
    @blp.alt_response(409, description="The time is not free or not suitable (slot_unavailable), or the entry is not waiting")
    def post(self, body, entry_id):
        """Offer a chosen free slot to this waiting patient by hand: held and emailed as any offer (staff)"""
        return container().waitlist.offer_by_hand(entry_id, body["start"], body["clinician_id"], current_staff())


@blp.route("/waitlist/leave/<string:token>")
class LeaveWaitlist(MethodView):
    @blp.response(200, WaitlistEntrySchema)
    @blp.alt_response(404, description="The link is not one we made (not_found)")
    def get(self, token):
        """The waitlist entry behind a leave link"""
        return container().waitlist.entry_for_leave_link(token)

    @public_write(blp, scope=rate_scopes.WAITLIST_OFFER)
    @blp.response(200, WaitlistEntrySchema)
    @blp.alt_response(404, description="The link is not one we made (not_found)")
    def post(self, token):
        """Leave the waitlist with the emailed link (one click; an offer held for you passes on)"""
        return container().waitlist.leave(token)


@blp.route("/waitlist/offers/<string:token>")
class Offer(MethodView):
    @blp.response(200, WaitlistOfferSchema)
    @blp.alt_response(404, description=OFFER_REFUSED)
    def get(self, token):
        """The offer behind an emailed link: the time held, and until when"""
        return container().waitlist.offer_for_link(token)


@blp.route("/waitlist/offers/<string:token>/claim")
class ClaimOffer(MethodView):
    @public_write(blp, scope=rate_scopes.WAITLIST_OFFER)
    @blp.arguments(ClaimOfferSchema)
    @blp.response(200, BookingSchema)
    @blp.alt_response(404, description=OFFER_REFUSED)
    @blp.alt_response(403, description="The screening no longer allows this appointment type (not_eligible)")
    def post(self, body, token):
        """Take the offered time: it becomes your booking (claiming twice answers with the same booking)"""
        booking, _created = container().waitlist.claim(token, body["driver_confirmed"])
        return booking


@blp.route("/waitlist/offers/<string:token>/decline")
class DeclineOffer(MethodView):
    @public_write(blp, scope=rate_scopes.WAITLIST_OFFER)
    @blp.response(200, WaitlistOfferSchema)
    @blp.alt_response(404, description=OFFER_REFUSED)
    def post(self, token):
        """Let the offered time go to the next person waiting (you stay on the waitlist)"""
        return container().waitlist.decline(token)
