"""The waitlist in the console: each appointment type's waiting patients with their windows and
offer history; front desk and admins offer a free slot by hand or take an entry off the list."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import redirect, request, url_for

from kapbook_booking.entrypoints.errors import http_status
from kapbook_booking.entrypoints.http.staff_access import catalog
from kapbook_booking.entrypoints.web.console.access import SCHEDULERS, bp, console_view, page
from kapbook_booking.entrypoints.web.console.bookings import _slots
from kapbook_booking.entrypoints.web.console.choices import aware_instant, pick_zone, read_date
from kapbook_booking.entrypoints.wiring import container, current_staff
from kapbook_booking.service_layer.errors import BookingError

NOTICES = {
    "offered": "Offered. The slot is held for the patient and the offer is emailed to them now.",
    "removed": "Taken off the waitlist. An offer they held passes to the next in line.",
}
OFFER_STATUS = {"open": "Held for them", "claimed": "Booked", "declined": "Let go", "expired": "Lapsed",
                "withdrawn": "Withdrawn"}


@bp.get("/waitlist")
@console_view()
def waitlist():
    return _waitlist_page()


def _waitlist_page(status: int = 200, error: str | None = None):
    args = request.values
    kinds = catalog().appointment_types()
    counts = container().waitlist.waiting_counts()
    chosen = args.get("type") or next((code for code in counts), kinds[0]["code"] if kinds else "")
    locations = catalog().locations()
    zone = pick_zone(args.get("tz"), locations[0]["timezone"] if locations else "UTC")
    listing, error = _listing(chosen, args.get("show") == "all", error)
    offer_for, slots, slot_error, day = args.get("offer_for"), [], None, read_date(args.get("day"), None)
    entry = next((e for e in listing["entries"] if e["id"] == offer_for), None) if listing else None
    if entry is not None and day is not None:
        slots, slot_error = _slots(chosen, day, zone, entry["clinician_id"])
    return page("console/waitlist.html", status, kinds=kinds, counts=counts, chosen=chosen, listing=listing, zone=zone,
                show_all=args.get("show") == "all", offer_for=offer_for, day=day, slots=slots, slot_error=slot_error,
                offer_status=OFFER_STATUS, error=error, local=lambda moment: moment.astimezone(ZoneInfo(zone)),
                notice=NOTICES.get(request.args.get("notice", "")) if status == 200 else None)


def _listing(code: str, include_closed: bool, error: str | None):
    if not code:
        return None, error
    try:
        return container().waitlist.waitlist_of(code, include_closed), error
    except BookingError as refusal:
        return None, error or refusal.message


@bp.post("/waitlist/<string:entry_id>/offer")
@console_view(*SCHEDULERS)
def offer_by_hand(entry_id: str):
    raw_start, _, clinician_id = request.form.get("slot", "").partition("|")
    start = aware_instant(raw_start)
    if start is None or not clinician_id:
        return _waitlist_page(422, error="Please choose one of the free times shown.")
    try:
        container().waitlist.offer_by_hand(entry_id, start, clinician_id, current_staff())
    except BookingError as refusal:
        return _waitlist_page(http_status(refusal), error=refusal.message)
    return redirect(url_for("console.waitlist", type=request.form.get("type"), tz=request.form.get("tz"),
                            notice="offered"), code=303)


@bp.post("/waitlist/<string:entry_id>/remove")
@console_view(*SCHEDULERS)
def remove_from_waitlist(entry_id: str):
    try:
        container().waitlist.remove_by_staff(entry_id, current_staff())
    except BookingError as refusal:
        return _waitlist_page(http_status(refusal), error=refusal.message)
    return redirect(url_for("console.waitlist", type=request.form.get("type"), notice="removed"), code=303)
