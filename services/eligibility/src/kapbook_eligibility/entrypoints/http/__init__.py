"""The eligibility service's HTTP routes: thin, they turn requests into use-case calls."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Api

from kapbook_platform.staff.principal import StaffPrincipal


def container():
    """The process's EligibilityContainer (built once by the app factory)."""
    return current_app.extensions["kapbook_eligibility"]


def current_staff() -> StaffPrincipal:
    """The authenticated staff member; only call from a view behind ``require_staff``."""
    return current_app.extensions["kapbook_staff_auth"].current()


def register_blueprints(api: Api) -> None:
    from kapbook_eligibility.entrypoints.http import decisions, questionnaire, reviews, rule_sets, screenings

    for module in (questionnaire, screenings, reviews, rule_sets, decisions):
        api.register_blueprint(module.blp)
