"""What every route of the eligibility service reaches for: the process's container and the signed-in staff member.

Blueprints import these two from here and nowhere else.
"""
from __future__ import annotations

from flask import current_app

from kapbook_eligibility.bootstrap import EligibilityContainer
from kapbook_platform.staff.web import current_staff

__all__ = ["container", "current_staff"]


def container() -> EligibilityContainer:
    """The process's EligibilityContainer (built once by the app factory)."""
    return current_app.extensions["kapbook_eligibility"]
