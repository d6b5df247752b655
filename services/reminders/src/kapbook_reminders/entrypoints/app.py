"""The reminders service's Flask app factory."""
from __future__ import annotations

from flask import Flask

from kapbook_platform.logs import configure_logging
from kapbook_platform.staff.web import StaffAuth
from kapbook_platform.web.app import create_service_app, register_health
from kapbook_reminders.bootstrap import RemindersContainer, bootstrap
from kapbook_reminders.entrypoints.http import notifications


def create_app(container: RemindersContainer | None = None) -> Flask:
    container = container or bootstrap()
    configure_logging("reminders", container.config.log_level)
    app, api = create_service_app(
        container.config,
        title="Kapbook reminders API",
        description="Notifications sent to patients and staff, and their delivery.",
    )
    app.extensions["kapbook_reminders"] = container
    app.extensions["kapbook_staff_auth"] = StaffAuth(container.runtime.sessions, container.runtime.tables["staff_credentials"])
    api.register_blueprint(notifications.blp)
    register_health(app, {"database": container.runtime.check_database, "broker": container.runtime.check_broker})
    return app
