"""What the staff routes share: who may call them, who is calling, and the use cases they call."""
from __future__ import annotations

from collections.abc import Callable

from flask_smorest import Blueprint

from kapbook_booking.entrypoints.wiring import container
from kapbook_booking.service_layer.calendar_feed import CalendarFeeds
from kapbook_booking.service_layer.catalog import StaffCatalog
from kapbook_booking.service_layer.schedules import StaffSchedules
from kapbook_booking.service_layer.staff_calendar import StaffCalendar
from kapbook_platform.staff.web import require_staff

ADMIN = ("admin",)
SCHEDULERS = ("admin", "front_desk")
# Schedule writes: a clinician may too, on their own schedule only (checked in the use case).
SCHEDULE_WRITERS = SCHEDULERS + ("clinician",)


def staff_only(blp: Blueprint, *roles: str, scope: str | None = None) -> Callable:
    """``require_staff(*roles, scope=scope)`` (any staff role when none; undeclared scope: a read needs
    any, a write every one), with its 401 and 403 documented."""

    def decorator(view: Callable) -> Callable:
        view = blp.alt_response(401, description="No valid staff token")(view)
        needs = [f"the role {' or '.join(roles)}"] if roles else []
        needs.append(f"a token with the scope {scope} (else insufficient_scope)" if scope else "a token scope (else insufficient_scope)")
        view = blp.alt_response(403, description="Needs " + " and ".join(needs))(view)
        return require_staff(*roles, scope=scope)(view)

    return decorator


def catalog() -> StaffCatalog:
    return container().catalog


def schedules() -> StaffSchedules:
    return container().schedules


def staff_calendar() -> StaffCalendar:
    return container().staff_calendar


def calendar_feeds() -> CalendarFeeds:
    return container().calendar_feeds
