"""The eligibility service's Flask app factory."""
from __future__ import annotations

from flask import Flask

from kapbook_eligibility.bootstrap import EligibilityContainer, bootstrap
from kapbook_eligibility.entrypoints.http import register_blueprints
from kapbook_eligibility.service_layer.errors import EligibilityError
from kapbook_platform.logs import configure_logging
from kapbook_platform.staff.web import StaffAuth
from kapbook_platform.web.app import create_service_app, register_health
from kapbook_platform.web.errors import error_response


def create_app(container: EligibilityContainer | None = None) -> Flask:
    container = container or bootstrap()
    configure_logging("eligibility", container.config.log_level)
    app, api = create_service_app(
        container.config,
        title="Kapbook eligibility API",
        description="The screening questionnaire, scoring, clinician review and decisions.",
    )
    app.extensions["kapbook_eligibility"] = container
    app.extensions["kapbook_staff_auth"] = StaffAuth(container.runtime.sessions, container.runtime.tables["staff_credentials"])
    app.register_error_handler(EligibilityError, lambda e: error_response(e.status, e.code, e.message, e.errors))
    register_blueprints(api)
    register_health(app, {"database": container.runtime.check_database, "broker": container.runtime.check_broker})
    return app
