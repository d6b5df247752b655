"""gunicorn entry point: ``gunicorn 'kapbook_reminders.entrypoints.wsgi:create_app()'``."""
from kapbook_reminders.entrypoints.app import create_app

__all__ = ["create_app"]
