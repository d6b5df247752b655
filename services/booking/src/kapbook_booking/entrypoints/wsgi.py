"""gunicorn entry point: ``gunicorn 'kapbook_booking.entrypoints.wsgi:create_app()'``."""
from kapbook_booking.entrypoints.app import create_app

__all__ = ["create_app"]
