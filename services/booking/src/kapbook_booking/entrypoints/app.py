"""The booking service's Flask app factory."""
from __future__ import annotations

from flask import Flask

from kapbook_booking.bootstrap import BookingContainer, bootstrap
from kapbook_booking.entrypoints.http import bookings, fhir, patients, series, staff_bookings
from kapbook_booking.entrypoints.http import calendar_feed, staff_calendar, staff_catalog, staff_schedules
from kapbook_booking.entrypoints.http import staff_calendars, staff_webhooks, waitlist
from kapbook_booking.entrypoints.http import staff_members, staff_reports
from kapbook_booking.entrypoints.errors import register_booking_errors
from kapbook_booking.entrypoints.web import register_web
from kapbook_platform.logs import configure_logging
from kapbook_platform.staff.web import StaffAuth
from kapbook_platform.web.app import create_service_app, register_health


def create_app(container: BookingContainer | None = None) -> Flask:
    container = container or bootstrap()
    configure_logging("booking", container.config.log_level)
    app, api = create_service_app(
        container.config,
        title="Kapbook booking API",
        description="Availability, bookings, holds and staff calendars.",
    )
    app.extensions["kapbook_booking"] = container
    app.extensions["kapbook_staff_auth"] = StaffAuth(
        container.runtime.sessions,
        container.runtime.tables["staff_credentials"],
        cookie_blueprints=frozenset({"console"}),  # the console's forms carry CSRF tokens
        cookie_principal=container.console_sessions.resolve,
        clock=container.clock,
    )
    register_booking_errors(app)
    api.register_blueprint(bookings.blp)
    api.register_blueprint(staff_bookings.blp)
    api.register_blueprint(patients.blp)
    api.register_blueprint(series.blp)
    for staff_blueprint in (staff_catalog.blp, staff_schedules.blp, staff_calendar.blp, calendar_feed.blp,
                            staff_members.blp):
        api.register_blueprint(staff_blueprint)
    api.register_blueprint(staff_webhooks.blp)
    api.register_blueprint(staff_calendars.blp)
    api.register_blueprint(waitlist.blp)
    api.register_blueprint(staff_reports.blp)
    app.register_blueprint(fhir.bp)  # FHIR answers OperationOutcomes, outside the v1 OpenAPI document
    register_web(app, api)
    register_health(app, {"database": container.runtime.check_database, "broker": container.runtime.check_broker})
    return app
