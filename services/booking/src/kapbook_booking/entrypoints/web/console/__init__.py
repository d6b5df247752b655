"""The staff console at ``/staff/``: server-rendered pages over the booking use cases, and over the
eligibility service's review API for screenings."""
from kapbook_booking.entrypoints.web.console import auth, bookings, calendar, schedules, screenings, series  # noqa: F401 - routes
from kapbook_booking.entrypoints.web.console import webhooks  # noqa: F401 - routes (webhooks section)
from kapbook_booking.entrypoints.web.console import notifications, password_reset, team, tokens, two_step  # noqa: F401 - routes
from kapbook_booking.entrypoints.web.console import audit, reports  # noqa: F401 - routes (audit page, director's report)
from kapbook_booking.entrypoints.web.console import trends  # noqa: F401 - routes (a patient's trend)
from kapbook_booking.entrypoints.web.console import waitlist  # noqa: F401 - routes (the waitlist)
from kapbook_booking.entrypoints.web.console.access import bp

__all__ = ["bp"]
