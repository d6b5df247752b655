"""What every route of the booking service reaches for: the process's container and the signed-in staff member.

Blueprints, pages and console views import these two from here and nowhere else.
"""
from __future__ import annotations

from flask import current_app

from kapbook_booking.bootstrap import BookingContainer
from kapbook_platform.staff.web import current_staff

__all__ = ["container", "current_staff"]


def container() -> BookingContainer:
    """The process's BookingContainer (built once by the app factory)."""
    return current_app.extensions["kapbook_booking"]
