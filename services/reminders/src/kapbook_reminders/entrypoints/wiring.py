"""What every route of the reminders service reaches for: the process's container and the signed-in staff member.

Blueprints import these two from here and nowhere else.
"""
from __future__ import annotations

from flask import current_app

from kapbook_platform.staff.web import current_staff
from kapbook_reminders.bootstrap import RemindersContainer

__all__ = ["container", "current_staff"]


def container() -> RemindersContainer:
    """The process's RemindersContainer (built once by the app factory)."""
    return current_app.extensions["kapbook_reminders"]
