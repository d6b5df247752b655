"""Patients' waitlist pages, reached from the emailed links: an offer (take it, let it go, or leave
the waitlist) and the one-click leave page. They work without JavaScript, as the manage page does;
a GET never changes anything (mail scanners open links), every change is a one-button form."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, make_response, redirect, render_template, request, url_for

from kapbook_booking.entrypoints import rate_scopes
from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.entrypoints.web.formatting import template_helpers
from kapbook_booking.entrypoints.web.page_headers import secure_page
from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.errors import BookingError
from kapbook_platform.web.ratelimit import public_write

bp = Blueprint("waitlist_pages", __name__, template_folder="templates")


@bp.context_processor
def _helpers() -> dict:
    return template_helpers()


@bp.get("/waitlist/offers/<string:token>")
def offer(token: str):
    """The time held for the patient, until when, and the three choices."""
    return _offer_page(token, confirm_decline=request.args.get("decline") == "1")


@bp.post("/waitlist/offers/<string:token>/claim")
@public_write(scope=rate_scopes.WAITLIST_OFFER)
def claim(token: str):
    try:
        booking, _created = container().waitlist.claim(token, driver_confirmed=request.form.get("driver_confirmed") == "yes")
    except BookingError as refusal:
        return _offer_page(token, error=refusal.message, status=http_status(refusal))
    manage_token = booking["manage_url"].rsplit("/", 1)[1]
    return redirect(url_for("patient.manage", token=manage_token, notice="claimed"), code=303)


@bp.post("/waitlist/offers/<string:token>/decline")
@public_write(scope=rate_scopes.WAITLIST_OFFER)
def decline(token: str):
    try:
        container().waitlist.decline(token)
    except BookingError as refusal:
        return _offer_page(token, error=refusal.message, status=http_status(refusal))
    return _offer_page(token, notice="You let this time go; it is offered to the next person waiting. "
                                     "You stay on the waitlist, and we will email you when another time opens up.")


@bp.get("/waitlist/leave/<string:token>")
def leave_page(token: str):
    return _leave_page(token)


@bp.post("/waitlist/leave/<string:token>")
@public_write(scope=rate_scopes.WAITLIST_OFFER)
def leave(token: str):
    try:
        container().waitlist.leave(token)
    except BookingError as refusal:
        return _problem(refusal)
    return _leave_page(token, notice="You have left the waitlist. We will not email you about new times.")


@bp.post("/waitlist/offers/<string:token>/leave")
@public_write(scope=rate_scopes.WAITLIST_OFFER)
def leave_from_offer(token: str):
    """Leave the waitlist from an offer's page (the offer's time passes on)."""
    try:
        entry = container().waitlist.leave_by_offer_link(token)
    except BookingError as refusal:
        return _offer_page(token, error=refusal.message, status=http_status(refusal))
    page = render_template("patient/waitlist_left.html", entry=entry,
                           notice="You have left the waitlist. We will not email you about new times.")
    return secure_page(make_response(page), private=True)


def _offer_page(token: str, *, error: str | None = None, notice: str | None = None, status: int = 200,
                confirm_decline: bool = False):
    try:
        offer = container().waitlist.offer_for_link(token)
    except BookingError as refusal:
        return _problem(refusal)
    held_until = offer["expires_at"].astimezone(ZoneInfo(offer["patient_timezone"]))
    page = render_template("patient/waitlist_offer.html", offer=offer, token=token, error=error, notice=notice,
                           confirm_decline=confirm_decline, held_until=held_until)
    return secure_page(make_response(page, status), private=True)


def _leave_page(token: str, *, notice: str | None = None):
    try:
        entry = container().waitlist.entry_for_leave_link(token)
    except BookingError as refusal:
        return _problem(refusal)
    page = render_template("patient/waitlist_left.html", entry=entry, token=token, notice=notice)
    return secure_page(make_response(page), private=True)


def _problem(refusal: BookingError):
    page = render_template("patient/link_problem.html", message=refusal.message)
    return secure_page(make_response(page, http_status(refusal)), private=True)
