"""Clinicians' iCalendar feeds: no sign-in, the secret token in the URL is the credential."""
from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint

from kapbook_booking.entrypoints.http.staff_access import calendar_feeds
from kapbook_booking.entrypoints.wiring import container
from kapbook_platform.web.errors import NotFound

blp = Blueprint(
    "calendar_feeds", __name__, url_prefix="/api/booking/v1",
    description="Per-clinician iCalendar feeds (RFC 5545) for calendar apps; admins get and regenerate the URL",
)
FEED_HEADERS = {
    "Cache-Control": "private, max-age=300",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


@blp.route("/calendars/<string:token>.ics")
@blp.response(200, content_type="text/calendar", description="An RFC 5545 VCALENDAR, one VEVENT per booking")
@blp.alt_response(404, description="No active clinician has this feed URL")
def calendar_feed(token):
    """A clinician's bookings as an iCalendar feed (no sign-in; the URL is secret)"""
    feed = calendar_feeds().render(token)
    if feed is None:
        raise NotFound("There is no calendar feed at this address; ask an admin for the current one.")
    clinician_id, body = feed
    container().audit_trail.feed_read(clinician_id, request.remote_addr)
    response = Response(body, content_type="text/calendar; charset=utf-8", headers=FEED_HEADERS)
    response.add_etag()
    return response.make_conditional(request)
