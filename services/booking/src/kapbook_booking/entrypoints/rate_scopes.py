"""Rate-limit buckets shared by an HTML form and the API route that does the same thing.

A patient (or a script) cancelling through the manage page and through the manage API is one
client doing one thing: both routes name the same scope, so they count against one limit.
"""
from __future__ import annotations

BOOKING = "booking"  # POST /bookings (and any other way a patient books); counted per email too
HOLD = "hold"
MANAGE_CANCEL = "manage-cancel"
MANAGE_RESCHEDULE = "manage-reschedule"
WAITLIST_JOIN = "waitlist-join"  # counted per email too
WAITLIST_OFFER = "waitlist-offer"  # claim, decline and leave, by page or API
